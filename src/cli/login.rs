//! `patgate login`: the browser loopback flow (RFC 8252 §7.3 with PKCE, RFC
//! 7636) or, with `--device`, the device grant (RFC 8628); the PAT is stored
//! in the credentials file. `patgate logout` revokes it (RFC 7009) and forgets it.

use super::credentials::{key, Credentials, StoredToken};
use crate::clock::{random_alphanumeric, OsRandom};
use crate::config::{ADMIN_SCOPE, TOKENS_READ_SCOPE, TOKENS_REVOKE_SCOPE, TOKENS_WRITE_SCOPE};
use crate::oauth::clients::CLI_CLIENT_ID;
use crate::oauth::paths::{AUTHORIZE_PATH, DEVICE_AUTHORIZATION_PATH, REVOKE_PATH, TOKEN_PATH};
use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use url::Url;

/// How long the loopback listener waits for the browser.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// `patgate login` arguments.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The patgate server, e.g. https://patgate.example.com.
    #[arg(long, env = "PATGATE_SERVER")]
    pub server: String,
    /// Use the device grant: type a code on any device instead of a local browser.
    #[arg(long)]
    pub device: bool,
    /// Scopes to ask for (default: all the server offers but `patgate:admin`);
    /// the scopes that let `patgate token` manage your tokens are always asked for.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Name of the token (you can change it on the consent screen).
    #[arg(long)]
    pub name: Option<String>,
    /// Do not try to open a browser; print the URL only.
    #[arg(long)]
    pub no_browser: bool,
}

fn endpoint(server: &Url, path: &str) -> Url {
    let mut url = server.clone();
    let base = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{base}{path}"));
    url
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("patgate-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client builds")
}

/// A current-thread runtime for the CLI's HTTP calls.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn token_name(args: &LoginArgs) -> String {
    args.name.clone().unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        match host {
            Some(h) => format!("patgate CLI on {h}"),
            None => "patgate CLI".into(),
        }
    })
}

/// `patgate login`.
pub fn login(args: LoginArgs) -> anyhow::Result<()> {
    let server = super::credentials::server_url(&args.server)?;
    let response = runtime()?.block_on(async {
        if args.device {
            device_flow(&server, &args).await
        } else {
            loopback_flow(&server, &args).await
        }
    })?;
    let pat = response["refresh_token"]
        .as_str()
        .context("the server issued no token")?
        .to_string();
    let user = jwt_subject(response["access_token"].as_str().unwrap_or_default());
    let mut creds = Credentials::load()?;
    let previous = creds.servers.get(&key(server.as_str())).cloned();
    creds.servers.insert(
        key(server.as_str()),
        StoredToken {
            token: pat,
            user: user.clone(),
            stored_at: chrono::Utc::now().to_rfc3339(),
        },
    );
    creds.save()?;
    eprintln!(
        "Logged in to {} as {user}; the token is stored in {}",
        key(server.as_str()),
        super::credentials::path()?.display()
    );
    // The token it replaces is revoked, so no forgotten PAT stays valid.
    if let Some(old) = previous {
        match runtime()?.block_on(revoke(&server, &old.token)) {
            Ok(()) => eprintln!("The token stored before for this server is revoked."),
            Err(e) => eprintln!(
                "warning: the token stored before for this server could not be revoked ({e}); revoke it on the server's token page"
            ),
        }
    }
    Ok(())
}

/// Revokes `token` at `server` (RFC 7009 §2.1, as the CLI client).
async fn revoke(server: &Url, token: &str) -> anyhow::Result<()> {
    let res = http()
        .post(endpoint(server, REVOKE_PATH))
        .form(&[("token", token), ("client_id", CLI_CLIENT_ID)])
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(crate::client::with_causes(&e)))?;
    anyhow::ensure!(
        res.status().is_success(),
        "the server answered {}",
        res.status()
    );
    Ok(())
}

/// The `sub` of a JWT, read without verification (for a message only).
fn jwt_subject(jwt: &str) -> String {
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|c| c["sub"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The scopes `patgate token …` needs on the server's own API.
const TOKEN_COMMAND_SCOPES: [&str; 3] =
    [TOKENS_READ_SCOPE, TOKENS_WRITE_SCOPE, TOKENS_REVOKE_SCOPE];

/// The `scope` to ask for: `--scope` values (default: every scope the
/// server's metadata lists, RFC 8414 §2, but `patgate:admin`), plus the
/// scopes the `token` commands need.
async fn requested_scope(server: &Url, args: &LoginArgs) -> String {
    let mut scopes = args.scopes.clone();
    if scopes.is_empty() {
        let metadata = endpoint(server, "/.well-known/oauth-authorization-server");
        let offered: Option<Value> = match http().get(metadata).send().await {
            Ok(res) if res.status().is_success() => res.json().await.ok(),
            _ => None,
        };
        let offered = offered
            .as_ref()
            .and_then(|m| m["scopes_supported"].as_array());
        scopes = offered
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| *s != ADMIN_SCOPE)
            .map(str::to_string)
            .collect();
    }
    for needed in TOKEN_COMMAND_SCOPES {
        if !scopes.iter().any(|s| s == needed) {
            scopes.push(needed.to_string());
        }
    }
    scopes.join(" ")
}

async fn token_request(
    server: &Url,
    form: &[(&str, &str)],
) -> anyhow::Result<Result<Value, Value>> {
    let res = http()
        .post(endpoint(server, TOKEN_PATH))
        .form(form)
        .send()
        .await?;
    let ok = res.status().is_success();
    let body: Value = res
        .json()
        .await
        .context("the token endpoint did not answer JSON")?;
    Ok(if ok { Ok(body) } else { Err(body) })
}

async fn loopback_flow(server: &Url, args: &LoginArgs) -> anyhow::Result<Value> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
    let mut redirect = Url::parse("http://127.0.0.1/callback")?;
    redirect
        .set_port(Some(listener.local_addr()?.port()))
        .map_err(|_| anyhow::anyhow!("cannot set the loopback port"))?;
    let redirect = redirect.to_string();
    let state = random_alphanumeric(&OsRandom, 32);
    let verifier = random_alphanumeric(&OsRandom, 64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = endpoint(server, AUTHORIZE_PATH);
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLI_CLIENT_ID)
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("token_name", &token_name(args))
        .append_pair("scope", &requested_scope(server, args).await);
    eprintln!("Approve the token in your browser:\n  {url}");
    if !args.no_browser {
        open_browser(url.as_str());
    }
    let (code, returned_state) =
        tokio::task::spawn_blocking(move || wait_for_callback(&listener)).await??;
    if !bool::from(returned_state.as_bytes().ct_eq(state.as_bytes())) {
        bail!("the browser came back with another state; not using its code");
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
        ("client_id", CLI_CLIENT_ID),
    ];
    match token_request(server, &form).await? {
        Ok(body) => Ok(body),
        Err(e) => bail!(
            "the code was refused: {}",
            e["error_description"].as_str().unwrap_or("unknown error")
        ),
    }
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let child = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    // Reaped when it exits, so a failing opener leaves no zombie.
    if let Ok(mut child) = child {
        std::thread::spawn(move || child.wait());
    }
}

/// Waits for `GET /callback?code&state` (or `?error`) on the loopback listener.
fn wait_for_callback(listener: &TcpListener) -> anyhow::Result<(String, String)> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    eprintln!("Waiting for the browser (up to 5 minutes; Ctrl-C to give up)…");
    let mut last_reminder = Instant::now();
    loop {
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    bail!("no answer from the browser within 5 minutes");
                }
                if last_reminder.elapsed() >= Duration::from_secs(60) {
                    last_reminder = Instant::now();
                    let left = deadline.saturating_duration_since(Instant::now());
                    eprintln!(
                        "Still waiting for the browser ({} min left)…",
                        left.as_secs().div_ceil(60)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        stream.set_nonblocking(false)?;
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line)?;
        let target = line.split_whitespace().nth(1).unwrap_or("/");
        let url = Url::parse("http://127.0.0.1").and_then(|b| b.join(target))?;
        if url.path() != "/callback" {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            continue;
        }
        let param = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let (status, text) = if param("code").is_some() {
            (
                "200 OK",
                "You are logged in. The CLI has stored your token; you can close this window.",
            )
        } else {
            (
                "400 Bad Request",
                "No token was created. You can close this window and run patgate login again.",
            )
        };
        let page = loopback_page(text);
        let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{page}", page.len());
        return match (param("code"), param("state"), param("error")) {
            (Some(code), Some(state), _) => Ok((code, state)),
            (_, _, Some(error)) => bail!("the request was not approved ({error})"),
            _ => bail!("the browser came back without a code"),
        };
    }
}

/// The page the browser lands on at the CLI's loopback listener: the
/// site's look, inline (the CLI serves no stylesheet), light or dark.
fn loopback_page(text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>patgate</title><style>\
         :root{{color-scheme:light dark;--bg:#f6f8fa;--panel:#fff;--fg:#1f2328;--line:#d1d9e0}}\
         @media (prefers-color-scheme:dark){{:root{{--bg:#0d1117;--panel:#151b23;--fg:#e6edf3;--line:#3d444d}}}}\
         body{{margin:0;font:15px/1.5 system-ui,sans-serif;background:var(--bg);color:var(--fg)}}\
         main{{max-width:30rem;margin:3rem auto;padding:1.5rem 1.8rem;background:var(--panel);\
         border:1px solid var(--line);border-radius:10px}}h1{{font-size:1.3rem;margin:0 0 .8rem}}\
         </style></head><body><main><h1>patgate</h1><p>{text}</p></main></body></html>"
    )
}

async fn device_flow(server: &Url, args: &LoginArgs) -> anyhow::Result<Value> {
    let name = token_name(args);
    let scope = requested_scope(server, args).await;
    let form = [
        ("client_id", CLI_CLIENT_ID),
        ("token_name", name.as_str()),
        ("scope", scope.as_str()),
    ];
    let res = http()
        .post(endpoint(server, DEVICE_AUTHORIZATION_PATH))
        .form(&form)
        .send()
        .await?;
    let started: Value = res
        .json()
        .await
        .context("the device authorization endpoint did not answer JSON")?;
    let (Some(device_code), Some(user_code)) = (
        started["device_code"].as_str(),
        started["user_code"].as_str(),
    ) else {
        bail!(
            "the server refused: {}",
            started["error_description"]
                .as_str()
                .unwrap_or("unknown error")
        );
    };
    eprintln!(
        "Open {} and enter the code {user_code}\n  (or open {})",
        started["verification_uri"].as_str().unwrap_or_default(),
        started["verification_uri_complete"]
            .as_str()
            .unwrap_or_default()
    );
    let mut interval = started["interval"].as_u64().unwrap_or(5);
    let poll = [
        ("grant_type", crate::oauth::device::DEVICE_GRANT),
        ("device_code", device_code),
        ("client_id", CLI_CLIENT_ID),
    ];
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        match token_request(server, &poll).await? {
            Ok(body) => return Ok(body),
            Err(e) => match e["error"].as_str().unwrap_or_default() {
                "authorization_pending" => {}
                "slow_down" => interval += 5,
                "access_denied" => bail!("the request was refused"),
                "expired_token" => {
                    bail!("the code expired before it was approved; run patgate login again")
                }
                other => bail!(
                    "the server refused ({other}): {}",
                    e["error_description"].as_str().unwrap_or_default()
                ),
            },
        }
    }
}

/// `patgate logout [--server URL]`: revokes the stored PAT and forgets it.
pub fn logout(server: Option<&str>) -> anyhow::Result<()> {
    let mut creds = Credentials::load()?;
    let server = creds.server(server)?;
    let stored = creds.token(&server)?.clone();
    let revoked = runtime()?.block_on(revoke(&Url::parse(&server)?, &stored.token));
    creds.servers.remove(&server);
    creds.save()?;
    // Forgotten either way; a token that may still work is an error (exit 1).
    match revoked {
        Ok(()) => {
            eprintln!("Logged out of {server}; the token is revoked.");
            Ok(())
        }
        Err(e) => bail!(
            "forgot the token for {server}, but could not revoke it ({e}): revoke it on the server's token page"
        ),
    }
}
