//! Headless Chromium (Debian's package, driven by playwright-core) signs in,
//! approves the consent screen and arrives at the client's redirect URI with
//! a code, which the client then exchanges. Screenshots go to
//! `target/browser-screenshots/`. Skipped with a notice where Chromium or
//! playwright-core is missing, except under CI, where that is a failure.

use crate::support::browser::{authorize_url, cli_client};
use crate::support::{TestApp, TestDb};
use oauth2::{AuthorizationCode, TokenResponse};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn chromium() -> Option<PathBuf> {
    let configured = std::env::var_os("CHROMIUM").map(PathBuf::from);
    configured
        .into_iter()
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|p| p.exists())
}

fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "browser test cannot run in CI: {why}"
    );
    let _ = writeln!(std::io::stderr(), "\nnotice: browser test skipped: {why}\n");
}

/// A loopback "client" page that answers every request with 200.
fn redirect_target() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "patgate test client: you can close this window";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[actix_web::test]
async fn a_person_signs_in_and_approves_in_chromium() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = chromium() else {
        return skip("no Chromium at /usr/bin/chromium (apt-get install chromium)");
    };
    if !scripts.join("node_modules/playwright-core").exists() {
        return skip("playwright-core is not installed (npm ci --prefix tests/browser)");
    }
    let db = TestDb::sqlite();
    let app = TestApp::start(&db).await;
    app.add_user("alice", "correct horse battery", false).await;
    let redirect = format!("http://127.0.0.1:{}/callback", redirect_target());
    let client = cli_client(&app, "patgate-cli", &redirect);
    let (url, state, verifier) = authorize_url(&client, &["read", "write"]);
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let mut cmd = std::process::Command::new("node");
    cmd.current_dir(&scripts)
        .env("CHROMIUM", &chromium)
        .arg("consent.mjs");
    cmd.args([
        url.as_str(),
        "alice",
        "correct horse battery",
        shots.to_str().unwrap(),
    ]);
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output().expect("node runs"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let landed = url::Url::parse(String::from_utf8(out.stdout).unwrap().trim()).expect("final URL");
    assert!(landed.as_str().starts_with(&redirect), "{landed}");
    let param = |k: &str| {
        landed
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(state.secret().as_str()));
    for shot in ["sign-in.png", "consent.png"] {
        assert!(
            std::fs::metadata(shots.join(shot)).unwrap().len() > 10_000,
            "{shot} was taken"
        );
    }

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = client
        .exchange_code(AuthorizationCode::new(param("code").expect("a code")))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code from the browser exchanges");
    let pat = token.refresh_token().unwrap().secret().clone();
    let record = app.record(&crate::support::token_id(&pat)).await;
    assert_eq!(record.name, "laptop (browser test)");
    app.exchange_ok(&pat).await;
}
