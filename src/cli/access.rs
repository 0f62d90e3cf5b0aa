//! Operator commands for users and OAuth2 clients.

use super::table;
use crate::accounts::{self, AddUserOutcome, SetPasswordOutcome, SetRolesOutcome};
use crate::app::Services;
use crate::audit::{self, Event};
use crate::clock::random_alphanumeric;
use crate::error::OpError;
use crate::secret::SecretString;
use crate::store::authorization::{self as store, ClientRow};
use anyhow::bail;
use std::io::Read;

/// Arguments of `patgate admin client add`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The `client_id`.
    pub id: String,
    /// Name shown on the consent page.
    #[arg(long)]
    pub name: String,
    /// An exact redirect URI (repeatable; loopback ones match any port).
    #[arg(long = "redirect-uri", required = true)]
    pub redirect_uris: Vec<String>,
    /// A scope the client may request (repeatable; none means any).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// A confidential client: generates a secret, printed once.
    #[arg(long)]
    pub confidential: bool,
}

/// `patgate admin user add NAME [--admin] [--password-stdin]`: without
/// `--password-stdin` a password is generated and printed once on stdout.
pub fn add_user(
    svc: &Services,
    name: &str,
    admin: bool,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let (password, generated) = password_from(svc, password_stdin)?;
    match accounts::add_user(svc, &super::operator(), name, &password, admin)? {
        AddUserOutcome::Added => {
            eprintln!("added {}user {name}", if admin { "admin " } else { "" });
            if generated {
                println!("{}", password.expose());
            }
            Ok(())
        }
        AddUserOutcome::Exists => bail!("a user named {name} exists"),
        AddUserOutcome::Invalid(why) => bail!("{why}"),
    }
}

/// `patgate admin user roles NAME [ROLE...]`.
pub fn set_roles(svc: &Services, name: &str, roles: &[String]) -> anyhow::Result<()> {
    match accounts::set_roles(svc, &super::operator(), name, roles)? {
        SetRolesOutcome::Set => {
            eprintln!("roles of {name}: {}", roles.join(" "));
            Ok(())
        }
        SetRolesOutcome::NoSuchUser => bail!("no user named {name}"),
        SetRolesOutcome::UnknownRole(r) => {
            bail!("unknown role {r:?}: use `admin` or a role defined under [access.roles]")
        }
    }
}

/// `patgate admin user email NAME [ADDRESS]`.
pub fn set_email(svc: &Services, name: &str, address: Option<&str>) -> anyhow::Result<()> {
    match accounts::set_email(svc, &super::operator(), name, address) {
        Ok(true) => {}
        Ok(false) => {
            bail!("no local user named {name} (SSO users' addresses come from their provider)")
        }
        Err(OpError::Malformed(why)) => bail!("{why}"),
        Err(e) => return Err(e.into()),
    }
    match address {
        Some(a) => eprintln!("email of {name}: {a}"),
        None => eprintln!("email of {name} cleared"),
    }
    Ok(())
}

/// `patgate admin user disable|enable NAME`.
pub fn set_user_disabled(svc: &Services, name: &str, disabled: bool) -> anyhow::Result<()> {
    let who = super::operator();
    match svc.write(|tx| accounts::set_disabled(tx, &who, name, disabled)) {
        Ok(()) => {}
        Err(OpError::NotFound) => bail!("no user named {name}"),
        Err(e) => bail!("{e}"),
    }
    eprintln!("{} {name}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

/// A password from standard input, or a generated one (and whether it was
/// generated, so it is printed).
fn password_from(svc: &Services, stdin: bool) -> anyhow::Result<(SecretString, bool)> {
    Ok(if stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        (
            SecretString::new(text.trim_end_matches(['\r', '\n'])),
            false,
        )
    } else {
        (
            SecretString::new(random_alphanumeric(svc.random.as_ref(), 20)),
            true,
        )
    })
}

/// `patgate admin user password NAME [--password-stdin]`.
pub fn set_password(svc: &Services, name: &str, password_stdin: bool) -> anyhow::Result<()> {
    let (password, generated) = password_from(svc, password_stdin)?;
    match accounts::set_password(svc, &super::operator(), name, &password)? {
        SetPasswordOutcome::Set => {
            eprintln!("password of {name} set; their browser sessions ended");
            if generated {
                println!("{}", password.expose());
            }
            Ok(())
        }
        SetPasswordOutcome::NoSuchUser => {
            bail!("no local user named {name} (SSO users sign in at their provider)")
        }
        SetPasswordOutcome::Invalid(why) => bail!("{why}"),
    }
}

/// `patgate admin user list [--json]`: every user, most recent sign-in
/// first, read a page at a time and written as read (fixed-width columns,
/// or one JSON object per line), so memory stays flat at any number.
pub fn list_users(svc: &Services, json: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let who = super::operator();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut progress = super::Progress::new("users");
    if !json {
        writeln!(
            out,
            "{:<32}  {:<16}  {:<20}  {:<8}  LAST SIGN-IN (UTC)",
            "NAME", "KIND", "ROLES", "STATUS"
        )?;
    }
    let when = |t: Option<chrono::NaiveDateTime>| {
        t.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M").to_string()
        })
    };
    let mut cursor: Option<String> = None;
    loop {
        let page = svc
            .read(|tx| accounts::list(tx, &who, None, cursor.as_deref(), super::BATCH))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for u in &page.users {
            let mut roles: Vec<&str> = u.roles.split_whitespace().collect();
            if u.is_admin && !roles.contains(&"admin") {
                roles.insert(0, "admin");
            }
            let kind = u
                .provider
                .as_deref()
                .map_or("local".to_string(), |p| format!("sso:{p}"));
            if json {
                let row = serde_json::json!({
                    "name": u.subject,
                    "kind": kind,
                    "roles": roles,
                    "email": u.email,
                    "disabled": u.disabled,
                    "lastSignIn": when(u.last_login_at),
                });
                serde_json::to_writer(&mut out, &row)?;
                writeln!(out)?;
                continue;
            }
            let roles = if roles.is_empty() {
                "-".to_string()
            } else {
                roles.join(",")
            };
            let status = if u.disabled { "disabled" } else { "active" };
            writeln!(
                out,
                "{:<32}  {:<16}  {:<20}  {:<8}  {}",
                table::safe(&u.subject),
                table::safe(&kind),
                table::safe(&roles),
                status,
                when(u.last_login_at)
            )?;
        }
        progress.add(page.users.len());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    progress.done();
    out.flush()?;
    Ok(())
}

/// `patgate admin client add`.
pub fn add_client(svc: &Services, args: ClientArgs) -> anyhow::Result<()> {
    if let Some(bad) = args
        .redirect_uris
        .iter()
        .find(|u| !crate::syntax::is_registrable_redirect(u))
    {
        bail!("redirect URI {bad:?} is not an absolute URL without fragment");
    }
    if let Some(bad) = args
        .scopes
        .iter()
        .find(|s| !svc.config.scopes.contains_key(*s))
    {
        bail!("scope {bad:?} is not in the scope catalogue");
    }
    let secret = args
        .confidential
        .then(|| random_alphanumeric(svc.random.as_ref(), 40));
    let secret_hash = match &secret {
        Some(s) => Some(svc.hasher.hash(s, svc.random.as_ref())?),
        None => None,
    };
    let row = ClientRow {
        id: args.id.clone(),
        name: args.name,
        redirect_uris: args.redirect_uris.join("\n"),
        secret_hash,
        scopes: args.scopes.join(" "),
        created_at: svc.now().naive_utc(),
    };
    let inserted = svc.write(|tx| {
        if crate::oauth::clients::find(svc, tx.conn, &args.id)?.is_some() {
            return Ok::<_, crate::error::InternalError>(false);
        }
        let inserted = store::insert_client(tx.conn, &row)?;
        if inserted {
            let details = serde_json::json!({
                "clientId": row.id, "confidential": row.secret_hash.is_some(),
                "redirectUris": args.redirect_uris, "scopes": args.scopes,
            });
            audit::record_about(tx, None, Event::ClientAdded, &super::operator(), details)?;
        }
        Ok(inserted)
    })?;
    if !inserted {
        bail!("a client with id {} exists", args.id);
    }
    eprintln!(
        "added {} client {}",
        if secret.is_some() {
            "confidential"
        } else {
            "public"
        },
        args.id
    );
    if let Some(s) = secret {
        println!("{s}");
    }
    Ok(())
}

/// `patgate admin client list [--json]`: built-in, configured and
/// registered clients.
pub fn list_clients(svc: &Services, json: bool) -> anyhow::Result<()> {
    let built_in = crate::oauth::clients::built_ins(svc).into_iter().map(|c| {
        let uris = if c.any_loopback {
            vec!["http://127.0.0.1:*/ (any loopback port)".to_string()]
        } else {
            c.redirect_uris
        };
        serde_json::json!({"id": c.id, "name": c.name, "redirectUris": uris, "confidential": false, "scopes": c.scopes, "source": "built-in"})
    });
    let mut rows: Vec<serde_json::Value> = built_in.collect();
    rows.extend(svc
        .config
        .clients
        .iter()
        .map(|c| serde_json::json!({"id": c.id, "name": c.name, "redirectUris": c.redirect_uris, "confidential": c.secret_hash.is_some(), "scopes": c.scopes, "source": "config"})));
    for c in svc.read(|tx| store::list_clients(tx.conn))? {
        rows.push(serde_json::json!({"id": c.id, "name": c.name, "redirectUris": c.redirect_uris.lines().collect::<Vec<_>>(), "confidential": c.secret_hash.is_some(), "scopes": c.scopes.split_whitespace().collect::<Vec<_>>(), "source": "database"}));
    }
    table::print(
        json,
        &rows,
        ["ID", "TYPE", "SOURCE", "NAME", "REDIRECT URIS"],
        |r| {
            [
                table::cell(&r["id"], " "),
                if r["confidential"] == true {
                    "confidential"
                } else {
                    "public"
                }
                .to_string(),
                table::cell(&r["source"], " "),
                table::cell(&r["name"], " "),
                table::cell(&r["redirectUris"], " "),
            ]
        },
    )
}

/// `patgate admin client remove ID`.
pub fn remove_client(svc: &Services, id: &str) -> anyhow::Result<()> {
    let removed = svc.write(|tx| {
        let removed = store::delete_client(tx.conn, id)?;
        if removed {
            let details = serde_json::json!({ "clientId": id });
            audit::record_about(tx, None, Event::ClientRemoved, &super::operator(), details)?;
        }
        Ok::<_, crate::store::StoreError>(removed)
    })?;
    if !removed {
        bail!("no registered client {id} (clients in the config file are removed there)");
    }
    eprintln!("removed client {id}");
    Ok(())
}
