//! What the `patgate` commands do; `main.rs` only parses arguments.

pub mod access;
pub mod credentials;
pub mod login;
pub mod remote;

use crate::app::Services;
use crate::audit::Actor;
use crate::config::parse_duration;
use crate::tokens::format::TokenKind;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueOutcome, IssueRequest, RequestedLifetime, RevokeOutcome};
use anyhow::{bail, Context};
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
    /// Give the token the admin role.
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

/// `patgate admin token issue`: the token alone on stdout, details on stderr.
pub fn issue_token(svc: &Services, args: IssueArgs) -> anyhow::Result<()> {
    let request = IssueRequest {
        kind: if args.service {
            TokenKind::Service
        } else {
            TokenKind::Personal
        },
        owner: args.owner,
        name: args.name,
        description: args.description,
        scopes: args.scopes,
        is_admin: args.admin,
        client_id: None,
        lifetime: parse_lifetime(args.expires_in.as_deref())?,
        cidrs: args.cidrs,
    };
    match tokens::issue(svc, request, &operator())? {
        IssueOutcome::Issued(t) => {
            let r = &t.record;
            let expires = r
                .expires_at
                .map_or("never".to_string(), tokens::view::rfc3339);
            eprintln!(
                "issued {} token {} ({:?}) for {}, scopes [{}], expires {expires}",
                r.kind,
                r.id,
                r.name,
                r.owner,
                r.scopes.join(" ")
            );
            println!("{}", t.raw.expose());
            Ok(())
        }
        IssueOutcome::Invalid { field, message } => bail!("invalid {field}: {message}"),
        IssueOutcome::NameTaken => bail!("the owner already has an active token with this name"),
    }
}

/// `patgate admin token list`.
pub fn list_tokens(svc: &Services, json: bool) -> anyhow::Result<()> {
    let now = svc.now();
    let views: Vec<TokenView> = tokens::list_all(svc)?
        .iter()
        .map(|r| TokenView::new(r, now))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    println!(
        "{:<21}  {:<8}  {:<20}  {:<24}  {:<20}  {:<10}  {:<10}  {:<10}  STATUS",
        "ID", "KIND", "OWNER", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED"
    );
    let day = |t: &Option<String>| {
        t.as_deref()
            .map_or("-".to_string(), |t| t[..10].to_string())
    };
    for v in &views {
        println!(
            "{:<21}  {:<8}  {:<20}  {:<24}  {:<20}  {:<10}  {:<10}  {:<10}  {}",
            v.id,
            v.kind,
            v.owner,
            v.name,
            v.scopes.join(" "),
            &v.created_at[..10],
            day(&v.expires_at),
            day(&v.last_used_at),
            serde_json::to_value(v.status)?.as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// `patgate admin token revoke`.
pub fn revoke_token(svc: &Services, id: &str) -> anyhow::Result<()> {
    match tokens::revoke(svc, id, &operator())? {
        RevokeOutcome::Revoked => eprintln!("revoked {id}"),
        RevokeOutcome::AlreadyRevoked => eprintln!("{id} was already revoked"),
        RevokeOutcome::NotFound => bail!("no token with id {id}"),
    }
    Ok(())
}

/// `patgate admin token rotate ID [--grace 1d]`: prints the new token only.
pub fn rotate_token(svc: &Services, id: &str, grace: Option<&str>) -> anyhow::Result<()> {
    let grace = match grace {
        None | Some("0") => chrono::Duration::zero(),
        Some(g) => parse_duration(g).map_err(anyhow::Error::msg)?.duration(),
    };
    match tokens::rotate(svc, id, grace, &operator())? {
        tokens::RotateOutcome::Rotated(t) => {
            match t.record.previous_secret_expires_at {
                Some(until) => eprintln!(
                    "rotated {id}; the old secret works until {}",
                    tokens::view::rfc3339(until)
                ),
                None => eprintln!("rotated {id}; the old secret no longer works"),
            }
            println!("{}", t.raw.expose());
            Ok(())
        }
        tokens::RotateOutcome::NotFound => bail!("no token with id {id}"),
        tokens::RotateOutcome::Inactive => bail!("token {id} is revoked or expired"),
        tokens::RotateOutcome::InvalidGrace => {
            bail!("the grace period must be between 0 and 7 days")
        }
    }
}

/// Who an operator command acts as, for `revoked_by` and logs.
/// The operator running an admin command, as the audit log names them.
fn operator() -> Actor {
    Actor::named(&format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    ))
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
    for event in crate::audit::export(svc, since)? {
        serde_json::to_writer(&mut out, &event)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
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

/// On the first start of the embedded default (no user yet), creates the
/// `admin` account and prints its generated password once.
pub fn create_first_admin(svc: &Services) -> anyhow::Result<()> {
    if let Some(password) = crate::accounts::create_first_admin(svc)? {
        println!(
            "First start of the embedded default: sign in at {} as \"admin\" with password\n\n    {}\n\n(shown only this once; add more accounts with `patgate admin user add`)",
            svc.config.url("/login"),
            password.expose()
        );
    }
    Ok(())
}

/// `patgate serve`: binds, prints the address, and runs until stopped.
pub fn serve(svc: Services, workers: Option<usize>) -> anyhow::Result<()> {
    create_first_admin(&svc)?;
    let listener = TcpListener::bind(svc.config.listen)
        .with_context(|| format!("cannot listen on {}", svc.config.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "patgate listening on http://{addr} (issuer {})",
        svc.config.issuer_id()
    );
    let svc = Arc::new(svc);
    let running = svc.clone();
    actix_web::rt::System::new()
        .block_on(async move { crate::web::server(running, listener, workers)?.await })?;
    // Counted exchanges not yet written go to the audit log before exit.
    svc.exchange_counts.flush(&svc)?;
    Ok(())
}
