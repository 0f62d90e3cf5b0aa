//! What the `patgate` commands do; `main.rs` only parses arguments.

pub mod access;
pub mod credentials;
pub mod login;
pub mod remote;
pub mod table;

use crate::app::Services;
use crate::clock::rfc3339;
use crate::config::{parse_duration, ADMIN_SCOPE};
use crate::error::{Conflict, OpError};
use crate::policy::Principal;
use crate::tokens::format::TokenKind;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueRequest, Lookup, RequestedLifetime};
use crate::web::WebState;
use anyhow::{bail, Context};
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

/// Arguments of `patgate admin token issue`.
#[derive(Debug, Clone, clap::Args)]
pub struct IssueArgs {
    /// Owner subject (or owning group/service with --service).
    #[arg(long)]
    pub owner: String,
    /// Token name, unique among the owner's active tokens.
    #[arg(long)]
    pub name: String,
    /// A scope to grant (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Lifetime: 30d, 12h, 90m, or never (if the policy allows).
    #[arg(long)]
    pub expires_in: Option<String>,
    /// An administrator's token: the admin flag and the `patgate:admin` scope.
    #[arg(long)]
    pub admin: bool,
    /// Issue a service token (sat_) instead of a personal one (pat_).
    #[arg(long)]
    pub service: bool,
    /// Description.
    #[arg(long)]
    pub description: Option<String>,
    /// A network allowed to exchange the token, e.g. 10.0.0.0/8 (repeatable; none allows any).
    #[arg(long = "cidr")]
    pub cidrs: Vec<String>,
}

/// Parses `--expires-in`.
pub fn parse_lifetime(value: Option<&str>) -> anyhow::Result<RequestedLifetime> {
    Ok(match value {
        None => RequestedLifetime::Default,
        Some("never") => RequestedLifetime::Never,
        Some(v) => RequestedLifetime::For(parse_duration(v).map_err(anyhow::Error::msg)?),
    })
}

/// An operation's refusal, as the command line says it.
fn refused(e: OpError) -> anyhow::Error {
    match e {
        OpError::Invalid(v) => anyhow::anyhow!("invalid {}: {}", v.field, v.message),
        OpError::Unauthenticated => anyhow::anyhow!("not authenticated"),
        OpError::Denied(d) => anyhow::anyhow!("not allowed: {}", d.message()),
        OpError::Malformed(why) => anyhow::anyhow!("{why}"),
        OpError::NotFound => anyhow::anyhow!("not found"),
        OpError::Conflict(c) => anyhow::anyhow!("{}", c.message()),
        OpError::Internal(e) => e.into(),
    }
}

/// `patgate admin token issue`: the token alone on stdout, details on stderr.
pub fn issue_token(svc: &Services, args: IssueArgs) -> anyhow::Result<()> {
    let kind = if args.service {
        TokenKind::Service
    } else {
        TokenKind::Personal
    };
    let mut scopes = args.scopes;
    if args.admin && !scopes.iter().any(|s| s == ADMIN_SCOPE) {
        scopes.push(ADMIN_SCOPE.into());
    }
    let request = IssueRequest {
        description: args.description,
        is_admin: args.admin,
        lifetime: parse_lifetime(args.expires_in.as_deref())?,
        cidrs: args.cidrs,
        ..IssueRequest::new(kind, &args.owner, &args.name, scopes)
    };
    let t = tokens::issue(svc, &operator(), request).map_err(refused)?;
    let r = &t.record;
    let expires = r.expires_at.map_or("never".to_string(), rfc3339);
    eprintln!(
        "issued {} token {} ({:?}) for {}, scopes [{}], expires {expires}",
        r.kind.as_str(),
        r.id,
        r.name,
        r.owner,
        r.scopes.join(" ")
    );
    println!("{}", t.raw.expose());
    Ok(())
}

/// Rows a streaming command reads per query.
const BATCH: i64 = 1000;

/// `patgate admin token list [--json]`: every token, newest first, written
/// as it is read (a table, or one JSON object per line), so memory stays
/// flat at any number of tokens; a running count on stderr when it is a
/// terminal.
pub fn list_tokens(svc: &Services, json: bool) -> anyhow::Result<()> {
    let now = svc.now();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut progress = Progress::new("tokens");
    if !json {
        writeln!(
            out,
            "{:<21}  {:<8}  {:<20}  {:<24}  {:<20}  {:<10}  {:<10}  {:<10}  STATUS",
            "ID", "KIND", "OWNER", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED"
        )?;
    }
    let day = |t: &Option<String>| {
        t.as_deref()
            .map_or("-".to_string(), |t| t[..10].to_string())
    };
    tokens::admin::each_batch(svc, &operator(), BATCH, |records| {
        for r in records {
            let v = TokenView::new(r, now);
            if json {
                serde_json::to_writer(&mut out, &v)?;
                writeln!(out)?;
                continue;
            }
            writeln!(
                out,
                "{:<21}  {:<8}  {:<20}  {:<24}  {:<20}  {:<10}  {:<10}  {:<10}  {}",
                v.id,
                v.kind,
                table::safe(&v.owner),
                table::safe(&v.name),
                v.scopes.join(" "),
                &v.created_at[..10],
                day(&v.expires_at),
                day(&v.last_used_at),
                v.status.as_str()
            )?;
        }
        progress.add(records.len());
        Ok::<_, anyhow::Error>(())
    })
    .map_err(|e| match e.downcast::<OpError>() {
        Ok(op) => refused(op),
        Err(e) => e,
    })?;
    progress.done();
    out.flush()?;
    Ok(())
}

/// `patgate admin token revoke`.
pub fn revoke_token(svc: &Services, id: &str) -> anyhow::Result<()> {
    let who = operator();
    match svc.write(|tx| tokens::revoke(tx, &who, id, Lookup::Any, None)) {
        Ok(()) => eprintln!("revoked {id}"),
        Err(OpError::Conflict(Conflict::AlreadyRevoked)) => eprintln!("{id} was already revoked"),
        Err(OpError::NotFound) => bail!("no token with id {id}"),
        Err(e) => return Err(refused(e)),
    }
    Ok(())
}

/// `patgate admin token rotate ID [--grace 1d]`: prints the new token only.
pub fn rotate_token(svc: &Services, id: &str, grace: Option<&str>) -> anyhow::Result<()> {
    let grace = match grace {
        None | Some("0") => 0,
        Some(g) => parse_duration(g).map_err(anyhow::Error::msg)?.seconds(),
    };
    let t = match tokens::rotate(svc, &operator(), id, Lookup::Any, grace) {
        Ok(t) => t,
        Err(OpError::NotFound) => bail!("no token with id {id}"),
        Err(OpError::Conflict(_)) => bail!("token {id} is revoked or expired"),
        Err(OpError::Invalid(_)) => bail!("the grace period must be between 0 and 7 days"),
        Err(e) => return Err(refused(e)),
    };
    match t.record.previous_secret_expires_at {
        Some(until) => eprintln!(
            "rotated {id}; the old secret works until {}",
            rfc3339(until)
        ),
        None => eprintln!("rotated {id}; the old secret no longer works"),
    }
    println!("{}", t.raw.expose());
    Ok(())
}

/// The operator running an admin command, as the audit log names them
/// (`cli:<user>`): every permission.
pub fn operator() -> Principal {
    Principal::operator(&std::env::var("USER").unwrap_or_else(|_| "operator".into()))
}

/// `patgate admin audit export [--since T]`: JSON lines, oldest first. `T`
/// is an RFC 3339 time or a duration back from now (`24h`, `7d`).
pub fn export_audit(svc: &Services, since: Option<&str>) -> anyhow::Result<()> {
    let since = match since {
        None => None,
        Some(t) => Some(match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(at) => at.with_timezone(&chrono::Utc),
            Err(_) => {
                svc.now()
                    - parse_duration(t)
                        .map_err(|e| anyhow::anyhow!("--since: {e}; or give an RFC 3339 time"))?
                        .duration()
            }
        }),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut progress = Progress::new("events");
    crate::audit::export(svc, since, BATCH, |events| {
        for event in &events {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n")?;
        }
        progress.add(events.len());
        Ok::<_, anyhow::Error>(())
    })?;
    progress.done();
    out.flush()?;
    Ok(())
}

/// SIGTERM, SIGINT and SIGHUP all stop the server gracefully: no new
/// connections, the requests in flight answered (up to 30 s), then the
/// pending audit counts written. SIGHUP re-reads nothing: a process
/// manager that sends it to reload gets a clean restart instead of a
/// process killed mid-request with its counts lost. A second SIGINT stops
/// at once.
async fn drain_on_signal(server: actix_web::dev::ServerHandle) {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot listen for signals; stopping");
        server.stop(true).await;
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
    };
    tracing::info!(signal = name, "stopping: finishing the requests in flight");
    // A second SIGINT (Ctrl-C again) stops at once.
    tokio::select! {
        _ = server.stop(true) => {}
        _ = int.recv() => server.stop(false).await,
    }
}

/// `patgate admin audit maintain`: audit maintenance passes until one
/// finds nothing to do; what it did on stdout.
pub fn maintain_audit(svc: &Services) -> anyhow::Result<()> {
    let mut done = crate::audit::retention::Maintained::default();
    let mut progress = Progress::new("rows");
    loop {
        let pass = crate::audit::retention::maintain(svc, 20)?;
        if pass.total() == 0 {
            break;
        }
        done.rolled_up += pass.rolled_up;
        done.counts_deleted += pass.counts_deleted;
        done.events_deleted += pass.events_deleted;
        progress.add(pass.total());
    }
    progress.done();
    println!(
        "{} per-minute rows rolled up, {} count rows and {} events deleted",
        done.rolled_up, done.counts_deleted, done.events_deleted
    );
    Ok(())
}

/// A running count on stderr for a long streaming command, only when
/// stderr is a terminal (never in a pipe or a log).
struct Progress {
    what: &'static str,
    count: usize,
    shown: bool,
    terminal: bool,
}

impl Progress {
    fn new(what: &'static str) -> Self {
        use std::io::IsTerminal;
        Progress {
            what,
            count: 0,
            shown: false,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn add(&mut self, n: usize) {
        self.count += n;
        if self.terminal && self.count >= 10 * BATCH as usize {
            eprint!("\r{} {}…", self.count, self.what);
            self.shown = true;
        }
    }

    fn done(&self) {
        if self.shown {
            eprintln!("\r{} {}", self.count, self.what);
        }
    }
}

/// `patgate admin keys rotate`.
pub fn rotate_keys(svc: &Services) -> anyhow::Result<()> {
    let kid = svc.keys.rotate(
        &mut *svc.conn()?,
        svc.random.as_ref(),
        svc.now(),
        svc.config.access_token_ttl.duration(),
    )?;
    eprintln!(
        "new active signing key {kid}; the previous key stays published until its tokens expire"
    );
    println!("{kid}");
    Ok(())
}

/// `patgate admin backup FILE`: the SQLite database as a consistent copy;
/// reminds that the master key is backed up apart.
pub fn backup(svc: &Services, to: &std::path::Path) -> anyhow::Result<()> {
    crate::store::backup_into(&svc.db, to)?;
    eprintln!(
        "wrote {} (mode 0600). Keep the master key apart from it ({}): without it the signing keys in the copy cannot be opened, and with it anyone holding the copy could sign tokens.",
        to.display(),
        match &svc.config.master_key {
            Some(_) => "PATGATE_MASTER_KEY / master_key".to_string(),
            None => svc
                .config
                .master_key_file
                .clone()
                .unwrap_or_else(|| svc.config.data_dir.join("master.key"))
                .display()
                .to_string(),
        }
    );
    Ok(())
}

/// Refuses to serve a damaged SQLite file (`database_check_at_start`).
fn check_sqlite_file(svc: &Services) -> anyhow::Result<()> {
    if !svc.config.database_check_at_start {
        return Ok(());
    }
    let started = std::time::Instant::now();
    if let Some(problems) = crate::store::quick_check(&svc.db)? {
        anyhow::bail!(
            "the SQLite file is damaged (PRAGMA quick_check: {problems}); restore it from a backup \
             (`patgate admin backup` makes one), or set database_check_at_start = false to serve it as it is"
        );
    }
    tracing::info!(
        millis = started.elapsed().as_millis() as u64,
        "database file checked"
    );
    Ok(())
}

/// On the first start of the embedded default (no user yet), creates the
/// `admin` account and prints its generated password once.
pub fn create_first_admin(svc: &Services) -> anyhow::Result<()> {
    if let Some(password) = crate::accounts::create_first_admin(svc)? {
        println!(
            "First start of the embedded default: sign in at {} as \"admin\" with password\n\n    {}\n\n(shown only this once; add more accounts with `patgate admin user add`)",
            svc.config.url("/login"),
            password.expose()
        );
    } else if crate::accounts::first_admin_unused(svc)? {
        eprintln!(
            "The \"admin\" account has not signed in yet. If the password printed at the first start is lost, set a new one with `patgate admin user password admin`."
        );
    }
    Ok(())
}

/// `patgate serve`: binds, prints the address, and runs until stopped.
pub fn serve(svc: Services, workers: Option<usize>) -> anyhow::Result<()> {
    check_sqlite_file(&svc)?;
    create_first_admin(&svc)?;
    if let Err(e) = svc.probe_writable() {
        tracing::warn!(error = %e, "the database does not take writes; /readyz says 503 until it does");
    }
    let listener = TcpListener::bind(svc.config.listen)
        .with_context(|| format!("cannot listen on {}", svc.config.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "patgate listening on http://{addr} (issuer {})",
        svc.config.issuer_id()
    );
    let svc = Arc::new(svc);
    let state = Arc::new(WebState::new(&svc.config));
    let (running, shared) = (svc.clone(), state.clone());
    actix_web::rt::System::new().block_on(async move {
        let server = crate::web::server(running, shared, listener, workers)?;
        actix_web::rt::spawn(drain_on_signal(server.handle()));
        server.await
    })?;
    // Counted exchanges not yet written go to the audit log before exit,
    // retried for a while when the database cannot take them now.
    let patience = std::time::Duration::from_secs(10);
    let lost = state
        .exchange_counts
        .flush_before_exit(&svc.db, svc.random.as_ref(), patience);
    if lost > 0 {
        eprintln!("{lost} exchange counts could not be written to the audit log before exit");
    }
    Ok(())
}
