//! Running patgate as an operator does: a lost first password set again,
//! users and clients listed, JSON logs, and a backup restored into a new
//! server (the real binary, as a child process).

use crate::processes::{exchange, jwks};
use crate::support::browser::Browser;
use crate::support::{issue_pat, process, run, succeeded, write_config, PatgateProcess, TestDb};
use serde_json::Value;

/// A missed first-start password is not a dead end: the next start says
/// how to set one, and the operator's user and client commands work.
#[actix_web::test]
async fn a_lost_first_password_is_set_again_and_users_and_clients_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("patgate.toml");
    let settings = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[hashing]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
        dir.path().join("data").display().to_string()
    );
    std::fs::write(&config, settings).unwrap();
    let first = PatgateProcess::spawn_capturing(&config);
    assert!(first.stdout_text().contains("\"admin\""));
    first.stop(); // the password scrolled away; nobody signed in

    let mut second = PatgateProcess::spawn_capturing(&config);
    let logs = second.stop_and_logs();
    assert!(
        logs.contains("patgate admin user password admin"),
        "the next start tells how to set a password: {logs}"
    );

    let mut set = process::command(&config)
        .args(["admin", "user", "password", "admin", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    set.stdin
        .take()
        .unwrap()
        .write_all(b"a new long password\n")
        .unwrap();
    let out = set.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "a given password is not echoed");
    let short = run(
        &config,
        &["admin", "user", "password", "admin", "--password-stdin"],
    );
    assert!(!short.status.success(), "an empty password is refused");
    let nobody = run(&config, &["admin", "user", "password", "nobody"]);
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no local user named nobody"));

    let third = PatgateProcess::spawn_capturing(&config);
    let browser = Browser::at(third.base.clone());
    let res = browser.sign_in("admin", "a new long password", "/").await;
    assert_eq!(res.status(), 303, "the new password signs in");
    third.stop();

    succeeded(run(&config, &["admin", "user", "add", "lee"]));
    succeeded(run(&config, &["admin", "user", "disable", "lee"]));
    let table = succeeded(run(&config, &["admin", "user", "list"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("LAST SIGN-IN"),
        "{table}"
    );
    let admin = lines
        .iter()
        .find(|l| l.starts_with("admin "))
        .expect("admin listed");
    assert!(admin.contains("local") && admin.contains("active") && !admin.contains("never"));
    let lee = lines
        .iter()
        .find(|l| l.starts_with("lee "))
        .expect("lee listed");
    assert!(lee.contains("disabled") && lee.contains("never"), "{lee}");
    succeeded(run(&config, &["admin", "user", "enable", "lee"]));
    // One JSON object per line.
    let json: Vec<Value> = succeeded(run(&config, &["admin", "user", "list", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lee = json.iter().find(|u| u["name"] == "lee").unwrap();
    assert_eq!(lee["disabled"], false);

    let clients = succeeded(run(&config, &["admin", "client", "list"]));
    let lines: Vec<&str> = clients.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("REDIRECT URIS"),
        "{clients}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("patgate-cli ") && l.contains("built-in")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("patgate-web ") && l.contains("built-in")));
}

/// `PATGATE_LOG_FORMAT=json`: one JSON object per log line; the access log
/// line carries the request id, route, status, latency and token id as
/// fields, never a secret, and no colour codes reach a pipe.
#[actix_web::test]
async fn json_logs_are_one_object_per_line_with_the_access_fields() {
    let db = TestDb::sqlite();
    let config = write_config(&db, |_| {});
    let pat = issue_pat(&config, "lee", "t");
    // `pat_<id>.<secret>`: the id is public, the secret never logged.
    let id = pat
        .split('.')
        .next()
        .unwrap()
        .split_once('_')
        .unwrap()
        .1
        .to_string();
    let mut server = PatgateProcess::spawn_with_env(
        &config,
        &[("PATGATE_LOG", "info"), ("PATGATE_LOG_FORMAT", "json")],
    );
    assert_eq!(exchange(&server.base, &pat).await.status(), 200);
    let logs = server.stop_and_logs();
    assert!(!logs.contains('\u{1b}'), "no colour codes in a pipe");
    let events: Vec<Value> = logs
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access = events
        .iter()
        .find(|e| e["target"] == "patgate::access" && e["path"] == "/api/auth/v1/token")
        .unwrap_or_else(|| panic!("an access line: {logs}"));
    assert_eq!(access["status"], 200);
    assert_eq!(access["method"], "POST");
    assert_eq!(access["token_id"], id.as_str(), "{access}");
    assert_eq!(access["request_id"].as_str().unwrap().len(), 32);
    assert!(access["latency_ms"].is_number() && access["level"] == "INFO");
    let secret = pat.split('.').nth(1).unwrap();
    assert!(!logs.contains(secret), "a secret reached the logs");
    let plain: Vec<&str> = logs.lines().filter(|l| !l.starts_with('{')).collect();
    assert!(
        plain
            .iter()
            .all(|l| l.starts_with("patgate listening on") || l.trim().is_empty()),
        "only the banner is plain: {plain:?}"
    );
}

/// `admin backup` copies the SQLite database while the server runs; the
/// copy with the same master key is a working server: the PAT exchanges,
/// the signing key is the same. With another master key it refuses to start.
#[actix_web::test]
async fn a_backup_restores_to_a_working_server() {
    let db = TestDb::sqlite();
    let config = write_config(&db, |_| {});
    let pat = issue_pat(&config, "lee", "t");
    let server = PatgateProcess::spawn(&config);
    assert_eq!(exchange(&server.base, &pat).await.status(), 200);
    let kid = jwks(&server.base).await["keys"][0]["kid"].clone();
    let copy = db.dir.path().join("backups/patgate-backup.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let out = run(&config, &["admin", "backup", copy.to_str().unwrap()]);
    let told = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{told}");
    assert!(
        told.contains("master key"),
        "the master key is named: {told}"
    );
    assert!(
        !run(&config, &["admin", "backup", copy.to_str().unwrap()])
            .status
            .success(),
        "never overwrites"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    server.stop();

    let restored = TestDb::sqlite_file(&copy);
    let config = write_config(&restored, |_| {});
    let server = PatgateProcess::spawn(&config);
    assert_eq!(
        exchange(&server.base, &pat).await.status(),
        200,
        "the PAT works"
    );
    assert_eq!(
        jwks(&server.base).await["keys"][0]["kid"],
        kid,
        "the same signing key"
    );
    server.stop();

    let other_key = write_config(&restored, |t| {
        t.insert(
            "master_key".into(),
            "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=".into(),
        );
    });
    let out = run(&other_key, &["migrate"]);
    assert!(
        !out.status.success(),
        "another master key cannot open the signing keys"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not decrypt with this master key"));
}
