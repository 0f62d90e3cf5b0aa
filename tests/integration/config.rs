//! Configuration: defaults, precedence, and errors that name the key.

use patgate::config::{Config, MaxTokenLifetime, SigningAlgorithm};
use std::io::Write;

fn load(file: &str, env: &[(&str, &str)], flags: &[(&str, &str)]) -> Result<Config, String> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(file.as_bytes()).unwrap();
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    let flags: Vec<(&str, String)> = flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
    Config::load(Some(f.path()), env, &flags).map_err(|e| e.to_string())
}

#[test]
fn defaults_need_nothing() {
    let c = Config::load(None, Vec::new(), &[]).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.issuer_id(), "http://127.0.0.1:8080");
    assert_eq!(c.access_token_ttl.seconds(), 600);
    assert_eq!(c.token_default_ttl.seconds(), 30 * 86_400);
    assert!(matches!(c.token_max_ttl, MaxTokenLifetime::Limited(t) if t.seconds() == 365 * 86_400));
    assert_eq!(c.signing_algorithm, SigningAlgorithm::ES256);
    assert_eq!(
        c.effective_database_url(),
        "sqlite://./patgate-data/patgate.db"
    );
    assert!(c.is_embedded_default());
}

#[test]
fn file_then_environment_then_flags() {
    let file =
        "listen = \"127.0.0.1:9000\"\naccess_token_ttl = \"5m\"\n[hashing]\nmax_concurrent = 3\n";
    let c = load(file, &[], &[]).unwrap();
    assert_eq!(
        (
            c.listen.port(),
            c.access_token_ttl.seconds(),
            c.hashing.max_concurrent
        ),
        (9000, 300, 3)
    );
    let env = [
        ("PATGATE_LISTEN", "127.0.0.1:9001"),
        ("PATGATE_HASHING__MAX_CONCURRENT", "5"),
        ("HOME", "/x"),
    ];
    let c = load(file, &env, &[]).unwrap();
    assert_eq!((c.listen.port(), c.hashing.max_concurrent), (9001, 5));
    let c = load(file, &env, &[("listen", "127.0.0.1:9002")]).unwrap();
    assert_eq!(c.listen.port(), 9002);
    let c = load("token_max_ttl = \"never\"", &[], &[]).unwrap();
    assert_eq!(c.token_max_ttl, MaxTokenLifetime::Unlimited);
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let cases = [
        ("listn = \"127.0.0.1:1\"", "listn"),
        ("[hashing]\nargon2_memroy_kib = 1", "argon2_memroy_kib"),
        ("listen = \"nowhere\"", "listen"),
        ("access_token_ttl = \"30s\"", "access_token_ttl"),
        ("access_token_ttl = \"25h\"", "access_token_ttl"),
        ("access_token_ttl = \"ten minutes\"", "access_token_ttl"),
        ("token_default_ttl = \"400d\"", "token_default_ttl"),
        ("issuer = \"ftp://x\"", "issuer"),
        ("signing_algorithm = \"HS256\"", "signing_algorithm"),
        (
            "[hashing]\nargon2_iterations = \"many\"",
            "hashing.argon2_iterations",
        ),
        (
            "[reminders.email]\nsmtp_url = \"http://mail\"\nfrom = \"a@b.test\"",
            "reminders.email",
        ),
        (
            "[[resources]]\naudience = \"orders\"\ndescription = \"Orders\"",
            "resources",
        ),
        (
            "[[resources]]\naudience = \"https://o.test\"\ndescription = \"O\"\nscopes = [\"ghost\"]",
            "resources",
        ),
        (
            "[reminders.email]\nsmtp_url = \"smtp://mail\"\nfrom = \"nobody\"",
            "reminders.email",
        ),
    ];
    for (file, key) in cases {
        let err = load(file, &[], &[]).expect_err(file);
        assert!(
            err.contains(key),
            "{file:?} gave {err:?}, which does not name {key}"
        );
    }
    let secret =
        "[reminders.email]\nsmtp_url = \"smtp://u:hunter2@mail:99999\"\nfrom = \"a@b.test\"";
    let err = load(secret, &[], &[]).unwrap_err();
    assert!(
        err.contains("smtp_url") && !err.contains("hunter2"),
        "{err}"
    );
    let err = load("", &[("PATGATE_LISTNE", "x")], &[]).unwrap_err();
    assert!(err.contains("listne"), "{err}");
    let err = load("", &[("PATGATE_ACCESS_TOKEN_TTL", "2d")], &[]).unwrap_err();
    assert!(err.contains("access_token_ttl"), "{err}");
    assert!(load("not toml [", &[], &[]).is_err());
}

#[test]
fn access_mapping_is_checked_at_start_up() {
    let readme_example = r#"
[access]
everyone = ["access-tokens:user:read", "access-tokens:user:write", "access-tokens:user:revoke"]
[access.roles]
auditor = ["access-tokens:service:read", "access-tokens:user:admin"]
[access.groups]
"platform-admins" = ["admin"]
"security" = ["auditor"]
"#;
    let c = load(readme_example, &[], &[]).unwrap();
    assert!(c.access.knows_role("auditor") && c.access.knows_role("admin"));
    let err = load("[access.groups]\nops = [\"ghost\"]\n", &[], &[]).unwrap_err();
    assert!(
        err.contains("key `access`") && err.contains("ghost"),
        "{err}"
    );
    let err = load("[access]\neveryone = [\"tokens:all\"]\n", &[], &[]).unwrap_err();
    assert!(
        err.contains("access") && err.contains("unknown permission"),
        "{err}"
    );
}

#[test]
fn the_issuer_follows_listen_unless_given() {
    let flags = |pairs: &[(&str, &str)]| load("", &[], pairs).unwrap();
    let c = flags(&[("listen", "127.0.0.1:8095")]);
    assert_eq!(c.issuer_id(), "http://127.0.0.1:8095", "--listen alone");
    assert_eq!(c.url("/device").as_str(), "http://127.0.0.1:8095/device");
    let c = flags(&[("listen", "0.0.0.0:9001")]);
    assert_eq!(c.issuer_id(), "http://127.0.0.1:9001", "a wildcard address");
    let c = flags(&[("listen", "[::]:9002")]);
    assert_eq!(c.issuer_id(), "http://[::1]:9002");
    let c = flags(&[
        ("listen", "0.0.0.0:8095"),
        ("issuer", "https://auth.example.com"),
    ]);
    assert_eq!(c.issuer_id(), "https://auth.example.com", "--issuer wins");
    let c = load(
        "issuer = \"https://a.example\"\n",
        &[],
        &[("listen", "127.0.0.1:1")],
    )
    .unwrap();
    assert_eq!(
        c.issuer_id(),
        "https://a.example",
        "so does the file's issuer"
    );
    let c = load("listen = \"127.0.0.1:7000\"\n", &[], &[]).unwrap();
    assert_eq!(
        c.issuer_id(),
        "http://127.0.0.1:7000",
        "the file's listen too"
    );
    let c = load(
        "",
        &[("PATGATE_ISSUER", "https://env.example")],
        &[("listen", "127.0.0.1:2")],
    )
    .unwrap();
    assert_eq!(
        c.issuer_id(),
        "https://env.example",
        "and the environment's"
    );
    let c = flags(&[("listen", "127.0.0.1:0")]);
    assert_eq!(
        c.issuer_id(),
        "http://127.0.0.1:8080",
        "port 0 keeps the default"
    );
}

/// The settings `compose.yaml`, the `Dockerfile` and `deploy/` give are keys
/// patgate knows (a renamed key would stop every container at start).
#[test]
fn the_deploy_files_settings_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let c = Config::load(
        Some(&root.join("deploy/patgate.toml")),
        env(&[
            (
                "PATGATE_DATABASE_URL",
                "postgres://patgate:patgate@postgres:5432/patgate",
            ),
            ("PATGATE_ISSUER", "http://localhost:8080"),
            (
                "PATGATE_MASTER_KEY",
                "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
            ),
        ]),
        &[],
    )
    .unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(c.issuer_id(), "http://localhost:8080");
    assert!(!c.trusted_proxies.is_empty());
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let image_env: Vec<(&str, &str)> = dockerfile
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("PATGATE_"))
        .filter_map(|w| w.split_once('='))
        .collect();
    assert!(image_env.len() >= 2, "{image_env:?}");
    let vars: Vec<(String, String)> = image_env
        .iter()
        .map(|(k, v)| (format!("PATGATE_{k}"), v.to_string()))
        .collect();
    let c = Config::load(None, vars, &[]).unwrap();
    assert_eq!(c.data_dir.display().to_string(), "/var/lib/patgate");
    let unit = std::fs::read_to_string(root.join("deploy/patgate.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/patgate serve"));
}

/// `systemd-analyze verify` accepts the unit (its binary path pointed at the
/// one just built), where systemd is installed; a notice elsewhere.
#[test]
fn the_systemd_unit_verifies() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("deploy/patgate.service")).unwrap();
    let probe = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        crate::support::skipped("systemd-analyze is not installed; the unit's check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patgate.service");
    let built = env!("CARGO_BIN_EXE_patgate");
    std::fs::write(&file, unit.replace("/usr/local/bin/patgate", built)).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}
