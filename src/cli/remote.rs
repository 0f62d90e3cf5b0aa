//! `patgate token …`: your tokens on a patgate server, through its APIs,
//! acting with the PAT `patgate login` stored.

use super::credentials::Credentials;
use super::login::runtime;
use super::table;
use crate::client::{ClientError, PatClient};
use crate::secret::SecretString;
use anyhow::Context;
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

/// `patgate token` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RemoteTokenCommand {
    /// Create a personal token; prints it once on stdout.
    Create {
        /// Token name.
        #[arg(long)]
        name: String,
        /// Scopes (default: those of the stored token).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// `30d`, `12h`, a date (YYYY-MM-DD) or `never` (default: the server's).
        #[arg(long)]
        expires: Option<String>,
        /// Networks allowed to use it (CIDR), repeatable.
        #[arg(long = "cidr")]
        cidrs: Vec<String>,
        /// Bind it to the key in this JWK file (DPoP, RFC 9449): it then
        /// works only with proofs by that key. A missing file gets a new
        /// private key (mode 0600) for the job that will use the token.
        #[arg(long)]
        dpop_key: Option<std::path::PathBuf>,
    },
    /// List your tokens.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id or name.
    Revoke {
        /// Id or name.
        token: String,
    },
    /// A new secret for a token (same id, name, scopes); prints it once.
    Rotate {
        /// Id or name.
        token: String,
        /// How long the old secret keeps working (0 to 7d).
        #[arg(long)]
        grace: Option<String>,
    },
    /// Print a fresh access token (JWT), for scripts.
    Exchange,
}

/// Explains errors a person can act on.
fn explain(server: &str, e: ClientError) -> anyhow::Error {
    match e {
        ClientError::TokenRefused { .. } => anyhow::anyhow!(
            "the stored token for {server} is expired or revoked: run `patgate login --server {server}`"
        ),
        other => other.into(),
    }
}

fn expires_field(value: &str) -> anyhow::Result<(&'static str, Value)> {
    if value == "never" {
        return Ok(("neverExpires", json!(true)));
    }
    let at = match chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(day) => day.and_hms_opt(23, 59, 59).context("valid time")?.and_utc(),
        Err(_) => {
            chrono::Utc::now()
                + crate::config::parse_duration(value)
                    .map_err(|e| anyhow::anyhow!("--expires: {e}"))?
                    .duration()
        }
    };
    Ok(("expiresAt", json!(at.to_rfc3339())))
}

/// The id of `token` (an id, or the name of an active token).
async fn resolve(client: &PatClient, token: &str) -> Result<String, ClientError> {
    let list = client
        .call(Method::GET, "/api/access-tokens/personal", None)
        .await?;
    let tokens = list["tokens"].as_array().cloned().unwrap_or_default();
    let by_id = tokens.iter().find(|t| t["id"] == token);
    let by_name = tokens
        .iter()
        .find(|t| t["name"] == token && t["status"] != "revoked" && t["status"] != "expired");
    Ok(by_id
        .or(by_name)
        .and_then(|t| t["id"].as_str())
        .unwrap_or(token)
        .to_string())
}

/// A time cell: an RFC 3339 time as `YYYY-MM-DD HH:MM` UTC.
fn time_cell(v: &Value) -> String {
    match v.as_str().map(chrono::DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        _ => table::cell(v, ","),
    }
}

/// The lines of `patgate token list`'s table: a header, then one line per
/// token with its full id (what `revoke` and `rotate` take).
fn token_table(tokens: &[Value]) -> Vec<String> {
    let rows: Vec<[String; 8]> = tokens
        .iter()
        .map(|t| {
            [
                table::cell(&t["id"], ","),
                table::cell(&t["name"], ","),
                table::cell(&t["scopes"], ","),
                time_cell(&t["createdAt"]),
                time_cell(&t["expiresAt"]),
                time_cell(&t["lastUsedAt"]),
                table::cell(&t["cidrs"], ","),
                table::cell(&t["status"], ","),
            ]
        })
        .collect();
    table::aligned(
        [
            "ID",
            "NAME",
            "SCOPES",
            "CREATED (UTC)",
            "EXPIRES",
            "LAST USED",
            "CIDR",
            "STATUS",
        ],
        &rows,
    )
}

/// The most `--grace` may be: what the server accepts.
const MAX_GRACE_SECONDS: i64 = crate::tokens::MAX_ROTATION_GRACE_SECONDS;

/// `--grace`: `0`, or a duration up to seven days.
fn grace_seconds(text: &str) -> anyhow::Result<i64> {
    if text.trim() == "0" {
        return Ok(0);
    }
    let seconds = crate::config::parse_duration(text)
        .map_err(|e| anyhow::anyhow!("--grace: {e}"))?
        .seconds();
    anyhow::ensure!(
        seconds <= MAX_GRACE_SECONDS,
        "--grace: the old secret may keep working 7d at most, not {text}"
    );
    Ok(seconds)
}

/// A command's own arguments, checked before anything is sent: a mistake
/// here is the caller's, told in the CLI's terms.
struct CheckedArgs {
    expires: Option<(&'static str, Value)>,
    grace_seconds: i64,
    dpop_jkt: Option<String>,
}

fn check_args(command: &RemoteTokenCommand) -> anyhow::Result<CheckedArgs> {
    let mut checked = CheckedArgs {
        expires: None,
        grace_seconds: 0,
        dpop_jkt: None,
    };
    match command {
        RemoteTokenCommand::Create {
            expires, dpop_key, ..
        } => {
            if let Some(e) = expires {
                checked.expires = Some(expires_field(e)?);
            }
            if let Some(file) = dpop_key {
                checked.dpop_jkt = Some(dpop_thumbprint(file)?);
            }
        }
        RemoteTokenCommand::Rotate { grace: Some(g), .. } => {
            checked.grace_seconds = grace_seconds(g)?;
        }
        _ => {}
    }
    Ok(checked)
}

/// `patgate whoami`: exchanges the stored PAT (so the server vouches that
/// it still works) and prints who it acts as, from the JWT's claims.
pub fn whoami(server: Option<&str>) -> anyhow::Result<()> {
    let creds = Credentials::load()?;
    let server = creds.server(server)?;
    let stored = creds.token(&server)?.clone();
    let client = PatClient::new(Url::parse(&server)?, SecretString::new(&stored.token));
    let jwt = runtime()?
        .block_on(client.access_token())
        .map_err(|e| explain(&server, e))?;
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .context("the server's access token has no readable claims")?;
    let text = |k: &str| claims[k].as_str().unwrap_or("-").to_string();
    println!("{} on {server}", text("sub"));
    println!("token:  {} ({})", text("token_id"), text("token_kind"));
    println!("scopes: {}", text("scope"));
    Ok(())
}

/// Runs `patgate token …` against `server` (or the stored one).
pub fn run(server: Option<&str>, command: RemoteTokenCommand) -> anyhow::Result<()> {
    let checked = check_args(&command)?;
    let mut creds = Credentials::load()?;
    let server = creds.server(server)?;
    let stored = creds.token(&server)?.clone();
    let client = PatClient::new(Url::parse(&server)?, SecretString::new(&stored.token));
    let rt = runtime()?;
    let result: Result<(), ClientError> = rt.block_on(async {
        match command {
            RemoteTokenCommand::Exchange => println!("{}", client.access_token().await?),
            RemoteTokenCommand::List { json } => {
                let list = client
                    .call(Method::GET, "/api/access-tokens/personal", None)
                    .await?;
                let tokens = list["tokens"].as_array().cloned().unwrap_or_default();
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&tokens).unwrap_or_default()
                    );
                } else {
                    for line in token_table(&tokens) {
                        println!("{line}");
                    }
                }
            }
            RemoteTokenCommand::Create {
                name,
                scopes,
                cidrs,
                ..
            } => {
                let mut body = json!({ "name": name, "cidrs": cidrs });
                if let Some(jkt) = &checked.dpop_jkt {
                    body["dpopJkt"] = json!(jkt);
                }
                if !scopes.is_empty() {
                    body["scopes"] = json!(scopes);
                }
                if let Some((k, v)) = checked.expires {
                    body[k] = v;
                }
                let made = client
                    .call(Method::POST, "/api/access-tokens/personal", Some(&body))
                    .await?;
                eprintln!(
                    "Created {} ({}); copy it now, it is not shown again:",
                    made["token"]["name"], made["token"]["id"]
                );
                println!("{}", made["rawToken"].as_str().unwrap_or_default());
            }
            RemoteTokenCommand::Revoke { token } => {
                let id = resolve(&client, &token).await?;
                client
                    .call(
                        Method::DELETE,
                        &format!("/api/access-tokens/personal/{id}"),
                        None,
                    )
                    .await?;
                eprintln!("Revoked {id}.");
            }
            RemoteTokenCommand::Rotate { token, .. } => {
                let id = resolve(&client, &token).await?;
                let seconds = checked.grace_seconds;
                let path = format!("/api/access-tokens/personal/{id}/rotate");
                let made = client
                    .call(
                        Method::POST,
                        &path,
                        Some(&json!({ "graceSeconds": seconds })),
                    )
                    .await?;
                let raw = made["rawToken"].as_str().unwrap_or_default().to_string();
                if crate::tokens::format::PresentedToken::parse(&stored.token)
                    .is_ok_and(|p| p.id == id)
                {
                    let mut updated = stored.clone();
                    updated.token = raw.clone();
                    creds.servers.insert(server.clone(), updated);
                    creds
                        .save()
                        .map_err(|e| ClientError::Unexpected(e.to_string()))?;
                    eprintln!("Rotated the stored token; the credentials file has the new secret.");
                }
                eprintln!("Rotated {id}; copy the new secret now, it is not shown again:");
                println!("{raw}");
            }
        }
        Ok(())
    });
    result.map_err(|e| explain(&server, e))?;
    Ok(())
}

/// The thumbprint of the key in the JWK `file` (public or private); a
/// missing file gets a new private key, written with mode 0600.
fn dpop_thumbprint(file: &std::path::Path) -> anyhow::Result<String> {
    if !file.exists() {
        let key = crate::client::DpopKey::generate().map_err(anyhow::Error::msg)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(file)?, key.to_private_jwk().as_bytes())?;
        eprintln!(
            "wrote a new DPoP key to {} (keep it secret)",
            file.display()
        );
        return Ok(key.thumbprint().to_string());
    }
    let text = std::fs::read_to_string(file)?;
    let jwk: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|_| anyhow::anyhow!("--dpop-key: {} is not a JWK (JSON)", file.display()))?;
    crate::oauth::dpop::thumbprint(&jwk).ok_or_else(|| {
        anyhow::anyhow!(
            "--dpop-key: {} is not an EC, OKP or RSA JWK",
            file.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_full_ids_and_names_and_readable_times() {
        let id = "pat_0123456789abcdefTTTT";
        let tokens = vec![json!({
            "id": id, "name": "CI Token for the Team", "scopes": ["read", "write"],
            "createdAt": "2026-11-30T08:15:00+00:00", "expiresAt": null,
            "lastUsedAt": "2026-12-01T10:00:59Z", "cidrs": [], "status": "active"
        })];
        let lines = token_table(&tokens);
        assert!(lines[0].starts_with("ID"), "a header: {lines:?}");
        assert!(
            lines[1].contains(id),
            "the full id, T and all: {}",
            lines[1]
        );
        assert!(lines[1].contains("CI Token for the Team"));
        assert!(lines[1].contains("2026-11-30 08:15") && lines[1].contains("2026-12-01 10:00"));
        assert!(lines[1].contains("read,write") && lines[1].contains("active"));
    }

    #[test]
    fn local_mistakes_are_told_before_any_request() {
        let create = |e: &str| RemoteTokenCommand::Create {
            name: "n".into(),
            scopes: vec![],
            expires: Some(e.into()),
            cidrs: vec![],
            dpop_key: None,
        };
        let err = check_args(&create("3x")).err().unwrap().to_string();
        assert!(
            err.starts_with("--expires:") && err.contains("unit"),
            "{err}"
        );
        assert!(check_args(&create("30d")).is_ok() && check_args(&create("never")).is_ok());
        let rotate = |g: &str| RemoteTokenCommand::Rotate {
            token: "t".into(),
            grace: Some(g.into()),
        };
        let err = check_args(&rotate("30d")).err().unwrap().to_string();
        assert!(
            err.starts_with("--grace:") && !err.contains("graceSeconds"),
            "{err}"
        );
        assert_eq!(check_args(&rotate("0")).unwrap().grace_seconds, 0);
        assert_eq!(check_args(&rotate("2h")).unwrap().grace_seconds, 7200);
    }
}
