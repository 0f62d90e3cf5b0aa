//! `patgate token …`: your tokens on a patgate server, through its APIs,
//! acting with the PAT `patgate login` stored.

use super::credentials::Credentials;
use super::login::runtime;
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

fn print_table(tokens: &[Value]) {
    let cell = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.get(..16).map_or(s.clone(), |d| d.replace('T', " ")),
        Value::Array(a) if a.is_empty() => "-".to_string(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    let rows: Vec<[String; 8]> = tokens
        .iter()
        .map(|t| {
            [
                cell(&t["id"]),
                cell(&t["name"]),
                cell(&t["scopes"]),
                cell(&t["createdAt"]),
                cell(&t["expiresAt"]),
                cell(&t["lastUsedAt"]),
                cell(&t["cidrs"]),
                cell(&t["status"]),
            ]
        })
        .collect();
    let header = [
        "ID",
        "NAME",
        "SCOPES",
        "CREATED",
        "EXPIRES",
        "LAST USED",
        "CIDR",
        "STATUS",
    ]
    .map(String::from);
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// Runs `patgate token …` against `server` (or the stored one).
pub fn run(server: Option<&str>, command: RemoteTokenCommand) -> anyhow::Result<()> {
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
                    print_table(&tokens);
                }
            }
            RemoteTokenCommand::Create {
                name,
                scopes,
                expires,
                cidrs,
            } => {
                let mut body = json!({ "name": name, "cidrs": cidrs });
                if !scopes.is_empty() {
                    body["scopes"] = json!(scopes);
                }
                if let Some(e) = expires {
                    let (k, v) =
                        expires_field(&e).map_err(|e| ClientError::Unexpected(e.to_string()))?;
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
            RemoteTokenCommand::Rotate { token, grace } => {
                let id = resolve(&client, &token).await?;
                let seconds = match grace {
                    Some(g) => crate::config::parse_duration(&g)
                        .map_err(|e| ClientError::Unexpected(format!("--grace: {e}")))?
                        .seconds(),
                    None => 0,
                };
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
