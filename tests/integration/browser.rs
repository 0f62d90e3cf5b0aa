//! Headless Chromium (Debian's package, driven by playwright-core): a person
//! signs in and approves the consent screen, landing on the client's
//! redirect URI with a code that the client exchanges; an admin creates,
//! audits and revokes a service token and a person generates and revokes a
//! PAT on the token pages. Screenshots go to `target/browser-screenshots/`.
//! Skipped with a notice where Chromium or playwright-core is missing,
//! except under CI, where that is a failure.

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
    crate::support::skipped(&format!("browser test: {why}"));
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

/// Chromium and the scripts' folder, or why the browser tests cannot run.
fn browser_setup() -> Result<(PathBuf, PathBuf), &'static str> {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium =
        chromium().ok_or("no Chromium at /usr/bin/chromium (apt-get install chromium)")?;
    if !scripts.join("node_modules/playwright-core").exists() {
        return Err("playwright-core is not installed (npm ci --prefix tests/browser)");
    }
    Ok((chromium, scripts))
}

/// Runs `node <script> <args…>` in the scripts' folder; its standard output.
async fn run_script(chromium: &Path, scripts: &Path, script: &str, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("node");
    cmd.current_dir(scripts)
        .env("CHROMIUM", chromium)
        .arg(script)
        .args(args);
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output().expect("node runs"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "browser script {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn screenshots() -> PathBuf {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

fn assert_taken(shots: &Path, names: &[&str]) {
    for shot in names {
        assert!(
            std::fs::metadata(shots.join(shot)).unwrap().len() > 10_000,
            "{shot} was taken"
        );
    }
}

#[actix_web::test]
async fn a_person_signs_in_and_approves_in_chromium() {
    let (chromium, scripts) = match browser_setup() {
        Ok(setup) => setup,
        Err(why) => return skip(why),
    };
    let db = TestDb::sqlite();
    let app = TestApp::start(&db).await;
    app.add_user("alice", "correct horse battery", false).await;
    let redirect = format!("http://127.0.0.1:{}/callback", redirect_target());
    let client = cli_client(&app, "patgate-cli", &redirect);
    let (url, state, verifier) = authorize_url(&client, &["read", "write"]);
    let shots = screenshots();
    let user = "alice";
    let out = run_script(
        &chromium,
        &scripts,
        "consent.mjs",
        &[
            url.as_str(),
            user,
            "correct horse battery",
            shots.to_str().unwrap(),
        ],
    )
    .await;
    let landed = url::Url::parse(out.trim()).expect("final URL");
    assert!(landed.as_str().starts_with(&redirect), "{landed}");
    let param = |k: &str| {
        landed
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(state.secret().as_str()));
    assert_taken(&shots, &["sign-in.png", "consent.png"]);

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

#[actix_web::test]
async fn an_admin_and_a_person_manage_tokens_in_chromium() {
    let (chromium, scripts) = match browser_setup() {
        Ok(setup) => setup,
        Err(why) => return skip(why),
    };
    let db = TestDb::sqlite();
    let app = TestApp::start(&db).await;
    app.add_user("root", "correct horse battery", true).await;
    app.add_user("alice", "correct horse battery", false).await;
    let shots = screenshots();
    let base = app.base.as_str().trim_end_matches('/').to_string();
    let out = run_script(
        &chromium,
        &scripts,
        "tokens.mjs",
        &[
            &base,
            "root",
            "alice",
            "correct horse battery",
            shots.to_str().unwrap(),
        ],
    )
    .await;
    let seen: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    for flag in [
        "warned",
        "copied",
        "auditShown",
        "adminSawRevoked",
        "personSawRevoked",
    ] {
        assert_eq!(seen[flag], true, "{flag}: {seen}");
    }
    let sat = seen["serviceToken"].as_str().unwrap();
    let pat = seen["personalToken"].as_str().unwrap();
    assert!(sat.starts_with("sat_") && pat.starts_with("pat_"), "{seen}");
    let service = app.record(&crate::support::token_id(sat)).await;
    assert_eq!(
        (service.owner.as_str(), service.name.as_str()),
        ("platform", "deploy-bot")
    );
    assert_eq!(service.revoked_by.as_deref(), Some("root"));
    let personal = app.record(&crate::support::token_id(pat)).await;
    assert_eq!(
        (personal.owner.as_str(), personal.name.as_str()),
        ("alice", "laptop")
    );
    assert_eq!(personal.revoked_by.as_deref(), Some("alice"));
    assert_eq!(
        app.exchange(sat).await.status(),
        400,
        "revoked in the browser"
    );
    assert_eq!(
        app.exchange(pat).await.status(),
        400,
        "revoked in the browser"
    );
    assert_taken(
        &shots,
        &[
            "admin-new-token.png",
            "admin-token-detail.png",
            "admin-access-tokens.png",
            "settings-new-token.png",
            "settings-personal-tokens.png",
        ],
    );
}

/// `rgb(r, g, b)` → mean channel value.
fn brightness(css: &str) -> u32 {
    let inner = css.trim_start_matches("rgba(").trim_start_matches("rgb(");
    let channels: Vec<u32> = inner
        .trim_end_matches(')')
        .split(',')
        .take(3)
        .map(|c| c.trim().parse().unwrap())
        .collect();
    channels.iter().sum::<u32>() / 3
}

#[actix_web::test]
async fn pages_fit_a_phone_and_follow_dark_mode_in_chromium() {
    let (chromium, scripts) = match browser_setup() {
        Ok(setup) => setup,
        Err(why) => return skip(why),
    };
    let db = TestDb::sqlite();
    let app = TestApp::start(&db).await;
    app.add_user("root", "correct horse battery", true).await;
    app.add_user("alice", "correct horse battery", false).await;
    let lifetime = patgate::tokens::RequestedLifetime::Default;
    app.issue("alice", "laptop", &["read", "write"], lifetime)
        .await;
    app.issue("alice", "ci-runner-for-the-monorepo", &["read"], lifetime)
        .await;
    let sat = app
        .issue_request(patgate::tokens::IssueRequest {
            description: Some("Deploys main from CI".into()),
            ..patgate::tokens::IssueRequest::new(
                patgate::tokens::format::TokenKind::Service,
                "platform",
                "deploy-bot",
                vec!["read".into()],
            )
        })
        .await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", sat.as_str()),
    ];
    for agent in [firefox, "deploy-script/2.1 (+https://ci.example.com)"] {
        let res = app
            .http
            .post(app.url("/api/auth/v1/token"))
            .header("user-agent", agent)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    app.flush_counts().await;
    let id = crate::support::token_id(&sat);
    let shots = screenshots();
    let base = app.base.as_str().trim_end_matches('/').to_string();
    let args = [
        base.as_str(),
        "root",
        "alice",
        "correct horse battery",
        &id,
        shots.to_str().unwrap(),
    ];
    let out = run_script(&chromium, &scripts, "gallery.mjs", &args).await;
    let seen: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    let list = seen["shots"].as_array().unwrap();
    assert_eq!(list.len(), 24, "6 pages × 2 widths × 2 schemes: {seen}");
    for shot in list {
        let file = format!(
            "{}-{}-{}.png",
            shot["name"].as_str().unwrap(),
            shot["width"],
            shot["scheme"].as_str().unwrap()
        );
        assert_taken(&shots, &[&file]);
        assert!(
            shot["overflow"].as_i64().unwrap() <= 0,
            "nothing wider than the window: {shot}"
        );
        let light = brightness(shot["background"].as_str().unwrap());
        match shot["scheme"].as_str().unwrap() {
            "dark" => assert!(light < 64, "dark background: {shot}"),
            _ => assert!(light > 200, "light background: {shot}"),
        }
    }
}
