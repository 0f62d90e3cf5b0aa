//! `patgate login` (browser loopback flow, with the test as the browser over
//! HTTP, and `--device`), `patgate token create|list|revoke|rotate|exchange`
//! and `patgate logout`, run as the real binary against an in-process server.

use crate::both_backends;
use crate::support::browser::{hidden_value, location, signed_in, Browser};
use crate::support::{token_id, TestApp, TestDb};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

both_backends!(
    login_in_the_browser_then_manage_tokens_from_the_cli,
    login_with_the_device_grant,
);

fn patgate(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patgate"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PATGATE_")) {
        cmd.env_remove(k);
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("PATGATE_LOG", "warn");
    cmd
}

fn credentials(home: &Path) -> PathBuf {
    home.join("config/patgate/credentials.toml")
}

async fn run(home: &Path, args: &[&str]) -> Output {
    let mut cmd = patgate(home);
    cmd.args(args);
    actix_web::rt::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args).await;
    assert!(
        out.status.success(),
        "patgate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Starts `patgate <args>` and hands its standard error over line by line.
fn spawn(home: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = patgate(home)
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

async fn line_with(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    for _ in 0..200 {
        while let Ok(line) = rx.try_recv() {
            if line.contains(needle) {
                return line;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no line with {needle:?}");
}

async fn finished(mut child: Child) -> std::process::ExitStatus {
    actix_web::rt::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

async fn approve_consent(browser: &Browser, consent: &url::Url, name: &str) -> reqwest::Response {
    let page = browser.get(consent.as_str()).await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf").expect("the consent screen");
    // `patgate login` asks for the scopes its `token` commands need, too.
    let form = [
        ("csrf", csrf.as_str()),
        ("token_name", name),
        ("scope", "read"),
        ("scope", "patgate:tokens:read"),
        ("scope", "patgate:tokens:write"),
        ("scope", "patgate:tokens:revoke"),
        ("expiry", "30"),
        ("action", "approve"),
    ];
    browser.post(consent.as_str(), &form).await
}

async fn login_in_the_browser_then_manage_tokens_from_the_cli(db: TestDb) {
    let app = TestApp::start(&db).await;
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let server = app.base.as_str().trim_end_matches('/').to_string();
    let (child, rx) = spawn(
        home,
        &[
            "login",
            "--server",
            &server,
            "--no-browser",
            "--name",
            "laptop",
            "--scope",
            "read",
        ],
    );
    let url = line_with(&rx, "/api/auth/v1/authorize?")
        .await
        .trim()
        .to_string();
    let asked = url::Url::parse(&url).unwrap();
    let scope = asked.query_pairs().find(|(k, _)| k == "scope").unwrap().1;
    assert_eq!(
        scope, "read patgate:tokens:read patgate:tokens:write patgate:tokens:revoke",
        "what --scope names, and what the token commands need"
    );
    let (browser, _) = signed_in(&app, "alice", false).await;
    let consent = location(&browser.get(&url).await);
    let back = location(&approve_consent(&browser, &consent, "laptop").await);
    assert_eq!(
        back.host_str(),
        Some("127.0.0.1"),
        "back to the CLI's loopback listener"
    );
    let landed = browser.get(back.as_str()).await;
    assert_eq!(landed.status(), 200);
    assert!(landed.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(landed.text().await.unwrap().contains("You are logged in"));
    assert!(finished(child).await.success());
    line_with(&rx, "Logged in to").await;

    let file = credentials(home);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let stored: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entry = &stored["servers"][server.as_str()];
    assert_eq!(entry["user"].as_str(), Some("alice"));
    let pat = entry["token"].as_str().unwrap().to_string();
    assert_eq!(app.record(&token_id(&pat)).await.name, "laptop");

    let table = ok(home, &["token", "list"]).await;
    assert!(
        table.starts_with("ID") && table.contains("laptop") && table.contains("active"),
        "{table}"
    );
    assert!(table.contains(&token_id(&pat)), "the full id: {table}");
    let me = ok(home, &["whoami"]).await;
    assert!(me.starts_with(&format!("alice on {server}")), "{me}");
    assert!(
        me.contains(&token_id(&pat)) && me.contains("patgate:tokens:read"),
        "{me}"
    );
    let scheme_less = server.trim_start_matches("http://");
    let me = ok(home, &["whoami", "--server", scheme_less]).await;
    assert!(
        me.starts_with("alice on "),
        "a server without a scheme: {me}"
    );
    let typo = run(home, &["token", "create", "--name", "x", "--expires", "3x"]).await;
    let said = String::from_utf8_lossy(&typo.stderr);
    assert!(
        said.contains("--expires") && !said.contains("server"),
        "a local mistake is not blamed on the server: {said}"
    );
    let created = ok(
        home,
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--scope",
            "read",
            "--expires",
            "30d",
            "--cidr",
            "127.0.0.0/8",
        ],
    )
    .await;
    let ci = created.trim().to_string();
    assert!(ci.starts_with("pat_"));
    assert_eq!(app.exchange(&ci).await.status(), 200);
    let listed: serde_json::Value =
        serde_json::from_str(&ok(home, &["token", "list", "--json"]).await).unwrap();
    let ci_view = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap();
    assert_eq!(ci_view["cidrs"], serde_json::json!(["127.0.0.0/8"]));
    let wider = run(
        home,
        &["token", "create", "--name", "x", "--scope", "write"],
    )
    .await;
    assert!(
        !wider.status.success(),
        "no more scopes than the stored token has"
    );

    let rotated = ok(home, &["token", "rotate", "ci", "--grace", "1h"])
        .await
        .trim()
        .to_string();
    assert_eq!(token_id(&rotated), token_id(&ci));
    assert_eq!(app.exchange(&ci).await.status(), 200, "within the grace");
    assert_eq!(app.exchange(&rotated).await.status(), 200);
    ok(home, &["token", "revoke", "ci"]).await;
    assert_eq!(app.exchange(&rotated).await.status(), 400);
    let jwt = ok(home, &["token", "exchange"]).await;
    assert_eq!(jwt.trim().split('.').count(), 3);

    // A token for a CI job, bound to a key the CLI writes for it.
    let key_file = home.join("ci-dpop.jwk");
    let key_arg = key_file.to_str().unwrap();
    let bound = ok(
        home,
        &["token", "create", "--name", "bound", "--dpop-key", key_arg],
    )
    .await
    .trim()
    .to_string();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");
    let key =
        patgate::client::DpopKey::from_jwk(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(
        app.record(&token_id(&bound)).await.dpop_jkt.as_deref(),
        Some(key.thumbprint())
    );
    assert_eq!(
        app.exchange(&bound).await.status(),
        400,
        "useless without the key"
    );
    let with_key = patgate::client::PatClient::new(
        app.base.clone(),
        patgate::secret::SecretString::new(&bound),
    )
    .with_dpop_key(key);
    assert!(with_key.access_token().await.is_ok(), "and works with it");
    let again = ok(
        home,
        &["token", "create", "--name", "bound2", "--dpop-key", key_arg],
    )
    .await;
    assert_eq!(
        app.record(&token_id(again.trim())).await.dpop_jkt,
        app.record(&token_id(&bound)).await.dpop_jkt,
        "an existing key file is reused"
    );
    std::fs::write(home.join("junk.jwk"), "not json").unwrap();
    let junk = run(
        home,
        &[
            "token",
            "create",
            "--name",
            "x",
            "--dpop-key",
            home.join("junk.jwk").to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        String::from_utf8_lossy(&junk.stderr).contains("--dpop-key"),
        "told before any request"
    );

    let id = token_id(&pat);
    let other_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other_home.path().join("config/patgate")).unwrap();
    std::fs::copy(&file, credentials(other_home.path())).unwrap();
    ok(home, &["logout"]).await;
    assert!(app.record(&id).await.revoked_at.is_some(), "logout revokes");
    assert!(
        !std::fs::read_to_string(&file).unwrap().contains(&pat),
        "and forgets"
    );
    let after = run(home, &["token", "list"]).await;
    assert!(String::from_utf8_lossy(&after.stderr).contains("not logged in"));
    let stale = run(other_home.path(), &["token", "list"]).await;
    assert!(!stale.status.success());
    assert!(String::from_utf8_lossy(&stale.stderr)
        .contains("expired or revoked: run `patgate login --server"));

    // A server that cannot be reached: logout forgets the token but fails,
    // and says why.
    let down = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(down.path().join("config/patgate")).unwrap();
    std::fs::write(
        credentials(down.path()),
        format!("[servers.\"http://127.0.0.1:9\"]\ntoken = {pat:?}\n"),
    )
    .unwrap();
    let out = run(down.path(), &["logout"]).await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a token that may still work is an error"
    );
    assert!(
        said.contains("could not revoke") && said.to_lowercase().contains("refused"),
        "the cause is told: {said}"
    );
}

/// Runs `patgate login --device --name NAME` and approves it as `browser`;
/// the CLI's output lines.
async fn device_login(
    home: &Path,
    server: &str,
    name: &str,
    browser: &Browser,
    csrf: &str,
) -> mpsc::Receiver<String> {
    let (child, rx) = spawn(
        home,
        &["login", "--server", server, "--device", "--name", name],
    );
    let line = line_with(&rx, "enter the code").await;
    let code = line.rsplit(' ').next().unwrap().to_string();
    let res = browser
        .post("/device", &[("csrf", csrf), ("user_code", &code)])
        .await;
    let answered = approve_consent(browser, &location(&res), name).await;
    assert!(answered
        .text()
        .await
        .unwrap()
        .contains("Return to your device"));
    assert!(
        finished(child).await.success(),
        "the CLI polls until the token is issued"
    );
    rx
}

async fn login_with_the_device_grant(db: TestDb) {
    let app = TestApp::start(&db).await;
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let server = app.base.as_str().trim_end_matches('/').to_string();
    let (browser, csrf) = signed_in(&app, "alice", false).await;
    device_login(home, &server, "build box", &browser, &csrf).await;
    let stored = std::fs::read_to_string(credentials(home)).unwrap();
    assert!(stored.contains("pat_") && stored.contains("alice"));
    let table = ok(home, &["token", "list"]).await;
    assert!(table.contains("build box"));

    // Logging in again replaces the stored token and revokes the old one.
    let first: toml::Table = toml::from_str(&stored).unwrap();
    let old = first["servers"][server.as_str()]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let rx = device_login(home, &server, "build box 2", &browser, &csrf).await;
    line_with(&rx, "stored before for this server is revoked").await;
    assert!(
        app.record(&token_id(&old)).await.revoked_at.is_some(),
        "the old PAT is revoked"
    );
    assert!(!std::fs::read_to_string(credentials(home))
        .unwrap()
        .contains(&old));
}

#[test]
fn help_shows_examples_and_sets_server_flags_apart() {
    let home = tempfile::tempdir().unwrap();
    for command in [&["login", "--help"][..], &["token", "--help"], &["--help"]] {
        let out = patgate(home.path()).args(command).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Examples:"),
            "{command:?}: {text}"
        );
    }
    let out = patgate(home.path())
        .args(["login", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let server_part = text
        .split("Server options")
        .nth(1)
        .expect("a server options part");
    assert!(server_part.contains("--database-url"), "{text}");
    let client_part = text.split("Server options").next().unwrap();
    assert!(!client_part.contains("--database-url") && client_part.contains("--server"));
}
