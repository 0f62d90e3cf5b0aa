//! Scale benchmark (issue #21): what an administrator or a heavy user
//! touches, at a small size and at a large one. It seeds a fresh database
//! (SQLite by default, or a new schema of `--database-url`) with SQL built
//! from real rows (`common/seed.rs`), starts the release `patgate serve`,
//! and prints one table: each page and list (median of 3 answers, time and
//! bytes), the operator commands (time and peak RSS), start-up time and the
//! database's size.
//!
//! Run: `cargo bench --bench scale -- [--tokens 1000000] [--users 100000]
//! [--audit 2000000] [--heavy 10000] [--small 1000] [--database-url postgres://…]`.

#[path = "common/mod.rs"]
#[allow(dead_code)]
mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/load.rs"]
#[allow(dead_code)]
mod load;
#[path = "common/pg.rs"]
#[allow(dead_code)]
mod pg;
#[path = "common/seed.rs"]
mod seed;
#[path = "common/under_load.rs"]
mod under_load;

use common::{memory, patgate, start};
use http::{jwt_for, request, sign_in};
use pg::PgSchema;
use seed::{token_id, Scale};
use std::path::Path;
use std::time::{Duration, Instant};

struct Settings {
    large: Scale,
    small: u64,
    database_url: Option<String>,
}

fn settings() -> Settings {
    let mut s = Settings {
        large: Scale {
            tokens: 1_000_000,
            users: 100_000,
            audit: 2_000_000,
            heavy: 10_000,
        },
        small: 1_000,
        database_url: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        let mut number = || value().parse::<u64>().expect("a number");
        match arg.as_str() {
            "--bench" => {}
            "--tokens" => s.large.tokens = number().max(100),
            "--users" => s.large.users = number().max(1),
            "--audit" => s.large.audit = number().max(1),
            "--heavy" => s.large.heavy = number(),
            "--small" => s.small = number().max(100),
            "--database-url" => s.database_url = Some(value()),
            other => panic!("unknown argument {other}"),
        }
    }
    s
}

/// One row of the table: what, then (time, size) per scale.
type Row = (String, Vec<String>);

/// A request to measure: what, its path, and its headers.
type Probe<'a> = (&'a str, String, Vec<(&'a str, String)>);

fn main() {
    let s = settings();
    let small = Scale {
        tokens: s.small,
        users: (s.small / 10).max(1),
        audit: s.small * 2,
        heavy: (s.small / 10).min(s.large.heavy),
    };
    let mut columns: Vec<Vec<(String, String)>> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let backend = if s.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    for scale in [small, s.large] {
        eprintln!(
            "seeding {} tokens, {} users, {} audit rows on {backend}…",
            scale.tokens, scale.users, scale.audit
        );
        let rows = measure(scale, s.database_url.as_deref());
        labels = rows.iter().map(|(what, _)| what.clone()).collect();
        columns.push(
            rows.into_iter()
                .map(|(_, v)| (v[0].clone(), v[1].clone()))
                .collect(),
        );
    }
    println!(
        "\npatgate scale benchmark, {backend}, release build: {} and {} tokens\n",
        small.tokens, s.large.tokens
    );
    println!(
        "| operation | {} tokens | | {} tokens | |",
        small.tokens, s.large.tokens
    );
    println!("|---|---|---|---|---|");
    for (i, label) in labels.iter().enumerate() {
        let (a, b) = (&columns[0][i], &columns[1][i]);
        println!("| {label} | {} | {} | {} | {} |", a.0, a.1, b.0, b.1);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} kB", bytes as f64 / 1024.0)
    }
}

/// The median of three answers to `GET path` with `headers` (each 200).
fn median(base: &str, path: &str, headers: &[(&str, &str)]) -> Vec<String> {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..3 {
        let a = request(base, "GET", path, headers, b"");
        assert_eq!(a.status, 200, "{path}: {}", a.status);
        times.push(a.elapsed);
        bytes = a.body.len();
    }
    times.sort();
    vec![ms(times[1]), size(bytes)]
}

/// Runs `patgate args…` to the end: its time and peak RSS (VmHWM, polled).
fn command(config: &Path, args: &[&str]) -> Vec<String> {
    let started = Instant::now();
    let mut child = patgate(config)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("patgate runs");
    let mut peak = 0.0f64;
    loop {
        let (_, hwm) = memory(child.id());
        peak = peak.max(hwm);
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    vec![ms(started.elapsed()), format!("{peak:.0} MiB peak RSS")]
}

fn cli_out(config: &Path, args: &[&str]) -> String {
    let out = patgate(config).args(args).output().expect("patgate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn measure(scale: Scale, database_url: Option<&str>) -> Vec<Row> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    let data_dir = dir.path().join("data");
    let (schema, url) = match database_url {
        Some(base) => {
            let (schema, url) = PgSchema::create(base);
            (Some(schema), url)
        }
        None => {
            std::fs::create_dir_all(&data_dir).unwrap();
            (None, data_dir.join("patgate.db").display().to_string())
        }
    };
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ndatabase_url = {url:?}\n",
            data_dir.display().to_string()
        ),
    )
    .unwrap();
    let db = patgate::store::Db::connect(&url, 2, Duration::from_secs(600)).expect("database");
    db.migrate().expect("migrations");
    let seeding = Instant::now();
    seed::seed(&db, scale);
    eprintln!("  seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    drop(db);
    // Accounts and credentials through the operator commands.
    let admin_password = cli_out(&config, &["admin", "user", "add", "root", "--admin"]);
    let heavy_password = cli_out(&config, &["admin", "user", "add", "heavy"]);
    let admin_pat = cli_out(
        &config,
        &[
            "admin",
            "token",
            "issue",
            "--owner",
            "root",
            "--name",
            "bench",
            "--scope",
            "patgate:admin",
            "--admin",
        ],
    );
    let heavy_pat = cli_out(
        &config,
        &[
            "admin",
            "token",
            "issue",
            "--owner",
            "heavy",
            "--name",
            "bench",
            "--scope",
            "patgate:tokens:read",
        ],
    );
    let compat_pat = cli_out(
        &config,
        &[
            "admin",
            "token",
            "issue",
            "--service",
            "--owner",
            "ops",
            "--name",
            "compat",
            "--admin",
        ],
    );
    let started = Instant::now();
    let (server, base) = start(&config, false);
    let startup = started.elapsed();
    let admin = sign_in(&base, "root", &admin_password);
    let heavy = sign_in(&base, "heavy", &heavy_password);
    let admin_jwt = format!("Bearer {}", jwt_for(&base, &admin_pat));
    let heavy_jwt = format!("Bearer {}", jwt_for(&base, &heavy_pat));
    let compat = request(
        &base,
        "POST",
        "/auth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("client_secret={compat_pat}").as_bytes(),
    );
    let compat: serde_json::Value = serde_json::from_slice(&compat.body).unwrap();
    let compat_jwt = format!("Bearer {}", compat["access_token"].as_str().unwrap());
    let page1 = request(
        &base,
        "GET",
        "/admin/access-tokens?view=personal",
        &[("Cookie", &admin)],
        b"",
    );
    let next = page1
        .text()
        .split("rel=\"next\"")
        .next()
        .and_then(|b| b.rsplit("href=\"").next())
        .map(|h| h.split('"').next().unwrap().replace("&amp;", "&"))
        .unwrap_or_else(|| "/admin/access-tokens?view=personal".into());
    let next = next.trim_start_matches(&base).to_string();
    let cookie = |c: &str| vec![("Cookie", c.to_string())];
    let auth = |a: &str| vec![("Authorization", a.to_string())];
    let rows: Vec<Probe> = vec![
        (
            "admin page: personal, page 1",
            "/admin/access-tokens?view=personal".into(),
            cookie(&admin),
        ),
        ("admin page: personal, a cursor page", next, cookie(&admin)),
        (
            "admin page: service, `status=expiring`",
            "/admin/access-tokens?view=service&status=expiring".into(),
            cookie(&admin),
        ),
        (
            "admin page: personal, `q=token-99`",
            "/admin/access-tokens?view=personal&q=token-99".into(),
            cookie(&admin),
        ),
        (
            "settings page of `heavy`",
            "/settings/personal-tokens".into(),
            cookie(&heavy),
        ),
        (
            "`GET /api/access-tokens/personal` of `heavy`",
            "/api/access-tokens/personal".into(),
            auth(&heavy_jwt),
        ),
        (
            "`GET /api/access-tokens/service`",
            "/api/access-tokens/service".into(),
            auth(&admin_jwt),
        ),
        (
            "compat `GET /admin/tokens?hasRole=deploy`",
            "/admin/tokens?hasRole=deploy&limit=100".into(),
            auth(&compat_jwt),
        ),
        (
            "page of a token used every minute",
            format!("/admin/access-tokens/{}", token_id(1)),
            cookie(&admin),
        ),
    ];
    let mut table: Vec<Row> = rows
        .into_iter()
        .map(|(what, path, headers)| {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            (what.to_string(), median(&base, &path, &headers))
        })
        .collect();
    let under = under_load::migrate_under_load(&config, &url, &base, &heavy_pat);
    table.push((
        "`patgate migrate` (000018, fills `token_scopes`) while exchanging".into(),
        vec![ms(under.migration), String::new()],
    ));
    table.push((
        "longest exchange meanwhile".into(),
        vec![
            ms(under.worst),
            format!("{} exchanges, {} failed", under.exchanges, under.failures),
        ],
    ));
    table.push((
        "`patgate admin audit maintain` (roll-up to the end)".into(),
        command(&config, &["admin", "audit", "maintain"]),
    ));
    table.push((
        "page of a token used every minute, rolled up".into(),
        median(
            &base,
            &format!("/admin/access-tokens/{}", token_id(1)),
            &[("Cookie", &admin)],
        ),
    ));
    drop(server);
    table.push((
        "`patgate admin user list --json`".into(),
        command(&config, &["admin", "user", "list", "--json"]),
    ));
    table.push((
        "`patgate admin token list --json`".into(),
        command(&config, &["admin", "token", "list", "--json"]),
    ));
    table.push((
        "`patgate admin audit export`".into(),
        command(&config, &["admin", "audit", "export"]),
    ));
    table.push((
        "start-up until listening".into(),
        vec![ms(startup), String::new()],
    ));
    let db_size = match schema {
        Some(_) => String::from("(PostgreSQL: see pg_database_size)"),
        None => {
            size(std::fs::metadata(data_dir.join("patgate.db")).map_or(0, |m| m.len() as usize))
        }
    };
    table.push(("database size".into(), vec![String::new(), db_size]));
    drop(schema);
    table
}
