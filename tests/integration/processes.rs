//! The real binary: operator commands, restarts on the same database, the
//! first start of the embedded default, and logs free of secrets.

use crate::both_backends;
use crate::support::browser::Browser;
use crate::support::{process, run, succeeded, verify_jwt, write_config, PatgateProcess, TestDb};
use serde_json::Value;

both_backends!(
    a_restarted_server_accepts_old_pats_and_verifies_old_jwts,
    operator_commands_issue_list_revoke_migrate_rotate,
);

pub(crate) async fn exchange(base: &url::Url, pat: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(base.join("/api/auth/v1/token").unwrap())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", pat)])
        .send()
        .await
        .unwrap()
}

pub(crate) async fn jwks(base: &url::Url) -> Value {
    reqwest::get(base.join("/.well-known/jwks.json").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    succeeded(out.clone())
}

async fn a_restarted_server_accepts_old_pats_and_verifies_old_jwts(db: TestDb) {
    let config = write_config(&db, |t| {
        t.insert("issuer".into(), "https://patgate.test".into());
    });
    let out = run(
        &config,
        &[
            "admin", "token", "issue", "--owner", "kim", "--name", "laptop", "--scope", "read",
        ],
    );
    let pat = stdout(&out).trim().to_string();
    assert!(
        pat.starts_with("pat_") && !pat.contains(char::is_whitespace),
        "only the token on stdout"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("laptop"),
        "details on stderr"
    );

    let first = PatgateProcess::spawn(&config);
    let res = exchange(&first.base, &pat).await;
    assert_eq!(res.status(), 200);
    let jwt = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    first.stop();

    let second = PatgateProcess::spawn(&config);
    assert_eq!(
        exchange(&second.base, &pat).await.status(),
        200,
        "old PAT still accepted"
    );
    let claims = verify_jwt(
        &jwt,
        &jwks(&second.base).await,
        "https://patgate.test",
        "https://patgate.test",
    )
    .expect("JWT signed before the restart verifies against the new process's JWKS");
    assert_eq!(claims["sub"], "kim");
}

async fn operator_commands_issue_list_revoke_migrate_rotate(db: TestDb) {
    let config = write_config(&db, |t| {
        let mut scopes = toml::Table::new();
        scopes.insert("deploy".into(), "Deploy the service".into());
        t.insert("scopes".into(), scopes.into());
    });
    // The first run says which migrations it applies (at the default log
    // level); the second has none.
    let migrate = || {
        crate::support::process::command(&config)
            .arg("migrate")
            .env("PATGATE_LOG", "info")
            .output()
            .unwrap()
    };
    let first = migrate();
    let said = String::from_utf8_lossy(&first.stderr).to_string();
    assert!(
        said.contains("applying a database migration") && said.contains("listing_indexes"),
        "{said}"
    );
    stdout(&first);
    let second = migrate();
    assert!(!String::from_utf8_lossy(&second.stderr).contains("applying a database migration"));
    stdout(&second);
    let issue = |name: &str, extra: &[&str]| {
        let mut args = vec!["admin", "token", "issue", "--owner", "ci", "--name", name];
        args.extend_from_slice(extra);
        run(&config, &args)
    };
    let svc = stdout(&issue(
        "deploy",
        &["--service", "--expires-in", "12h", "--scope", "deploy"],
    ));
    assert!(svc.trim().starts_with("sat_"));
    stdout(&issue("nightly", &["--admin"]));
    let dup = issue("nightly", &[]);
    assert!(!dup.status.success() && String::from_utf8_lossy(&dup.stderr).contains("name"));
    let never = issue("forever", &["--expires-in", "never"]);
    assert!(
        !never.status.success(),
        "no expiry is refused by the default policy"
    );
    let long = issue("long", &["--expires-in", "400d"]);
    assert!(
        !long.status.success(),
        "beyond the maximum lifetime is refused"
    );

    // One JSON object per line, written as the rows are read.
    let list: Vec<Value> = stdout(&run(&config, &["admin", "token", "list", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(list.len(), 2);
    let deploy = list.iter().find(|t| t["name"] == "deploy").unwrap();
    assert_eq!(
        (deploy["kind"].as_str(), deploy["status"].as_str()),
        (Some("service"), Some("expiring")),
        "12h is within 7 days"
    );
    assert_eq!(deploy["scopes"], serde_json::json!(["deploy"]));
    let nightly = list.iter().find(|t| t["name"] == "nightly").unwrap();
    assert_eq!(
        (nightly["admin"].as_bool(), &nightly["scopes"]),
        (Some(true), &serde_json::json!(["patgate:admin"])),
        "--admin sets the admin flag and the patgate:admin scope"
    );
    let id = deploy["id"].as_str().unwrap();
    assert!(svc.contains(id));
    assert!(list
        .iter()
        .all(|t| t.get("secretHash").is_none() && !t.to_string().contains("argon2")));

    stdout(&run(&config, &["admin", "token", "revoke", id]));
    let again = run(&config, &["admin", "token", "revoke", id]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already"));
    assert!(!run(
        &config,
        &["admin", "token", "revoke", "AAAAAAAAAAAAAAAAAAAAA"]
    )
    .status
    .success());
    let table = stdout(&run(&config, &["admin", "token", "list"]));
    assert!(
        table
            .lines()
            .any(|l| l.contains(id) && l.ends_with("revoked")),
        "{table}"
    );

    let server = PatgateProcess::spawn(&config);
    assert_eq!(
        exchange(&server.base, svc.trim()).await.status(),
        400,
        "revoked by the CLI"
    );
    let kid = stdout(&run(&config, &["admin", "keys", "rotate"]))
        .trim()
        .to_string();
    let keys = jwks(&server.base).await;
    let kids: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0], kid);
}

#[actix_web::test]
async fn first_start_of_the_embedded_default_prints_an_admin_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("patgate.toml");
    let data = dir.path().join("data");
    let settings = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[hashing]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
        data.display().to_string()
    );
    std::fs::write(&config, settings).unwrap();
    let first = PatgateProcess::spawn_capturing(&config);
    let printed = first.stdout_text();
    assert!(printed.contains("\"admin\""), "{printed}");
    let password = printed
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 20)
        .expect("a generated password line")
        .to_string();
    let browser = Browser::at(first.base.clone());
    let res = browser.sign_in("admin", &password, "/").await;
    assert_eq!(res.status(), 303, "the printed password signs in");
    let home = browser.get("/").await.text().await.unwrap();
    assert!(home.contains("Signed in") && home.contains("admin"));
    first.stop();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert_eq!(mode(&data), 0o700);

    let second = PatgateProcess::spawn_capturing(&config);
    assert!(
        !second.stdout_text().contains("password"),
        "shown only once"
    );
    second.stop();

    // Nothing secret was stored in clear: neither the password nor the signing key.
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "master.key" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "{path:?} holds the password"
        );
        assert!(!bytes
            .windows(8)
            .any(|w| w == b"\"d\":\"".as_slice() || w == b"PRIVATE ".as_slice()));
    }
}

#[actix_web::test]
async fn logs_never_show_secrets() {
    let db = TestDb::sqlite();
    let config = write_config(&db, |_| {});
    let pat = stdout(&run(
        &config,
        &["admin", "token", "issue", "--owner", "lee", "--name", "t"],
    ))
    .trim()
    .to_string();
    let mut server = PatgateProcess::spawn_with_log(&config, "debug");
    assert_eq!(exchange(&server.base, &pat).await.status(), 200);
    // The last character changed (to another one, whatever it was).
    let other = if pat.ends_with('x') { "y" } else { "x" };
    let wrong = format!("{}{other}", &pat[..pat.len() - 1]);
    assert_eq!(exchange(&server.base, &wrong).await.status(), 400);
    let logs = server.stop_and_logs();
    assert!(logs.contains("exchange refused"), "the refusal is logged");
    let secret = pat.split('.').nth(1).unwrap();
    assert!(!logs.contains(secret), "a secret reached the logs");
    assert!(
        !logs.contains(&wrong[30..]),
        "a presented secret reached the logs"
    );
}

#[test]
fn a_bad_config_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "access_token_ttl = \"2d\"\n").unwrap();
    let out = process::command(&config).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_token_ttl"));
}
