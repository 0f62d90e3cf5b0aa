//! Operator commands for users and OAuth2 clients.

use crate::accounts::{self, AddUserOutcome, SetRolesOutcome};
use crate::app::Services;
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
    let (password, generated) = if password_stdin {
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
    };
    match accounts::add_user(svc, name, &password, admin)? {
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
    match accounts::set_roles(svc, name, roles)? {
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

/// `patgate admin user disable NAME`.
pub fn disable_user(svc: &Services, name: &str) -> anyhow::Result<()> {
    let who = super::operator();
    match svc.write(|tx| accounts::set_disabled(tx, &who, name, true)) {
        Ok(()) => {}
        Err(OpError::NotFound) => bail!("no user named {name}"),
        Err(e) => bail!("{e}"),
    }
    eprintln!("disabled {name}");
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
        Ok(store::insert_client(tx.conn, &row)?)
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

/// `patgate admin client list [--json]`: registered and configured clients.
pub fn list_clients(svc: &Services, json: bool) -> anyhow::Result<()> {
    let mut rows: Vec<serde_json::Value> = svc
        .config
        .clients
        .iter()
        .map(|c| serde_json::json!({"id": c.id, "name": c.name, "redirectUris": c.redirect_uris, "confidential": c.secret_hash.is_some(), "scopes": c.scopes, "source": "config"}))
        .collect();
    for c in svc.read(|tx| store::list_clients(tx.conn))? {
        rows.push(serde_json::json!({"id": c.id, "name": c.name, "redirectUris": c.redirect_uris.lines().collect::<Vec<_>>(), "confidential": c.secret_hash.is_some(), "scopes": c.scopes.split_whitespace().collect::<Vec<_>>(), "source": "database"}));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in rows {
            println!(
                "{:<24} {:<12} {:<9} {}",
                r["id"].as_str().unwrap_or_default(),
                if r["confidential"] == true {
                    "confidential"
                } else {
                    "public"
                },
                r["source"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// `patgate admin client remove ID`.
pub fn remove_client(svc: &Services, id: &str) -> anyhow::Result<()> {
    if !svc.write(|tx| store::delete_client(tx.conn, id))? {
        bail!("no registered client {id} (clients in the config file are removed there)");
    }
    eprintln!("removed client {id}");
    Ok(())
}
