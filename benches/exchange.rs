//! Exchange benchmark (issue #12): the release `patgate serve --workers 1`
//! pinned to CPU 0 (`taskset`), this load generator pinned to CPU 1, a
//! fresh database (SQLite by default, or a new schema in the PostgreSQL
//! database given with `--database-url`), default argon2 cost.
//!
//! It issues `--tokens` PATs, exchanges each once (the cold, full-argon2
//! exchange), then drives `POST /api/auth/v1/token` round robin over the
//! PATs from `--connections` keep-alive connections: `--warmup` seconds
//! unmeasured, then `--seconds` measured. It prints requests/s, latency
//! percentiles, the **server's CPU µs per request** (utime + stime from
//! `/proc/<pid>/stat` over the measured window ÷ requests answered in it) and
//! peak RSS (VmHWM), then the same for `GET /healthz`, the ceiling of the run.
//! `--cold-burst N` also starts N first-time exchanges at once in the middle
//! of the measured window, and reports them and the warm p99 beside them.
//!
//! The HTTP client is a minimal HTTP/1.1 one (pre-built request bytes,
//! `Content-Length` responses), so the load generator's own cost stays well
//! below the server's.
//!
//! Run: `cargo bench --bench exchange -- [--connections 64] [--seconds 15]
//! [--warmup 3] [--tokens 64] [--healthz-seconds 5] [--cold-burst 0]
//! [--database-url postgres://…] [--log info] [--no-pin]`; `--log` is the
//! server's log filter: `info`, the default, writes the access log line of
//! every request (to a pipe this bench drains), as a server run by default
//! does.

#[path = "common/mod.rs"]
mod common;
#[path = "common/load.rs"]
mod load;
#[path = "common/pg.rs"]
mod pg;

use common::{issue, memory, start_with};
use load::{cpu_ticks, run_load, Load, Outcome};
use pg::PgSchema;
use std::time::Duration;

/// The bench's settings, from its arguments.
struct Settings {
    connections: usize,
    seconds: u64,
    warmup: u64,
    tokens: usize,
    healthz_seconds: u64,
    cold_burst: usize,
    database_url: Option<String>,
    pin: bool,
    log: String,
}

fn settings() -> Settings {
    let mut s = Settings {
        connections: 64,
        seconds: 15,
        warmup: 3,
        tokens: 64,
        healthz_seconds: 5,
        cold_burst: 0,
        database_url: std::env::var("BENCH_DATABASE_URL").ok(),
        pin: true,
        log: "info".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        let number = |v: String| v.parse::<u64>().expect("a whole number");
        match arg.as_str() {
            "--bench" => {}
            "--connections" => s.connections = number(value(&arg)) as usize,
            "--seconds" => s.seconds = number(value(&arg)),
            "--warmup" => s.warmup = number(value(&arg)),
            "--tokens" => s.tokens = number(value(&arg)).max(1) as usize,
            "--healthz-seconds" => s.healthz_seconds = number(value(&arg)),
            "--cold-burst" => s.cold_burst = number(value(&arg)) as usize,
            "--database-url" => s.database_url = Some(value(&arg)),
            "--no-pin" => s.pin = false,
            "--log" => s.log = value(&arg),
            other => panic!("unknown argument {other}"),
        }
    }
    s
}

/// Pins this process to CPU 1 by running itself again under `taskset`;
/// `false` when taskset is missing (the run goes on unpinned).
fn pinned_to_load_core() -> bool {
    const MARK: &str = "BENCH_LOAD_PINNED";
    if std::env::var_os(MARK).is_some() {
        return true;
    }
    if std::process::Command::new("taskset")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("notice: taskset not found; server and load share the CPUs");
        return false;
    }
    let status = std::process::Command::new("taskset")
        .args(["-c", "1"])
        .arg(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .env(MARK, "1")
        .status()
        .expect("taskset runs");
    std::process::exit(status.code().unwrap_or(1));
}

fn form(pat: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", pat)
        .finish()
}

fn report(name: &str, out: &Outcome, ticks_per_second: f64) {
    let secs = out.window.as_secs_f64();
    let cpu_us = out.server_ticks as f64 / ticks_per_second * 1e6;
    println!("{name}:");
    println!(
        "  requests: {} ok, {} failed ({} × 503, {} × 429) in {secs:.1} s",
        out.ok, out.failed, out.busy, out.throttled
    );
    println!("  throughput: {:.0} requests/s", out.ok as f64 / secs);
    println!(
        "  latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        out.percentile_ms(0.50),
        out.percentile_ms(0.90),
        out.percentile_ms(0.99),
        out.percentile_ms(1.0)
    );
    println!(
        "  server CPU: {:.1} µs per request ({:.0}% of one core)",
        cpu_us / (out.ok + out.failed).max(1) as f64,
        cpu_us / 1e6 / secs * 100.0
    );
}

fn main() {
    let s = settings();
    let load_pinned = s.pin && pinned_to_load_core();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    let data_dir = dir.path().join("data").display().to_string();
    let (schema, database) = match &s.database_url {
        Some(url) => {
            let (schema, url) = PgSchema::create(url);
            (Some(schema), format!("database_url = {url:?}\n"))
        }
        None => (None, String::new()),
    };
    std::fs::write(
        &config,
        // Every PAT here is exchanged from one address: its cold limit is
        // raised so the first exchanges (and a cold burst) are not refused.
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {data_dir:?}\n{database}\
             [limits]\ncold_exchanges_per_address = 100000\n"
        ),
    )
    .unwrap();
    let backend = if schema.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let pats: Vec<String> = (0..s.tokens + s.cold_burst)
        .map(|i| issue(&config, &format!("bench{i}")))
        .collect();
    let (warm, cold) = pats.split_at(s.tokens);
    let (server, base) = start_with(&config, s.pin, &["--workers", "1"], &s.log);
    let pid = server.0.id();
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let ticks_per_second = load::clock_ticks_per_second();

    let exchange = |body: String| {
        format!(
            "POST /api/auth/v1/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let first = runtime.block_on(load::first_exchanges(
        addr,
        warm.iter().map(|p| exchange(form(p))).collect(),
    ));
    let mut probe = schema.as_ref().map(|s| {
        let probe = s.probe();
        std::thread::sleep(pg::STATS_SETTLE);
        probe
    });
    let before = probe.as_mut().map(|p| p.reading());
    let exchanges = runtime.block_on(run_load(Load {
        addr,
        requests: warm.iter().map(|p| exchange(form(p))).collect(),
        connections: s.connections,
        warmup: Duration::from_secs(s.warmup),
        measure: Duration::from_secs(s.seconds),
        pid,
        cold_burst: cold.iter().map(|p| exchange(form(p))).collect(),
    }));
    let (_, exchange_peak) = memory(pid);
    let database = probe.as_mut().zip(before).map(|(p, (commits, ticks))| {
        std::thread::sleep(pg::STATS_SETTLE);
        let (commits_after, ticks_after) = p.reading();
        (commits_after - commits, ticks_after - ticks)
    });
    let healthz = (s.healthz_seconds > 0).then(|| {
        let get = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
        runtime.block_on(run_load(Load {
            addr,
            requests: vec![get],
            connections: s.connections,
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(s.healthz_seconds),
            pid,
            cold_burst: Vec::new(),
        }))
    });
    let (rss, peak) = memory(pid);
    let total_ticks = cpu_ticks(pid);
    drop(server);
    drop(schema);

    println!(
        "patgate exchange benchmark: {backend}, release build, serve --workers 1, \
         server {} CPU 0, load {} CPU 1, {} connections, {} PATs round robin, \
         {} s warm-up, {} s measured, log {}",
        if s.pin { "on" } else { "not pinned to" },
        if load_pinned { "on" } else { "not pinned to" },
        s.connections,
        warm.len(),
        s.warmup,
        s.seconds,
        s.log
    );
    if !first.is_empty() {
        let mut first = first;
        first.sort();
        println!(
            "first (cold, full argon2id) exchange of each PAT, one at a time: median {:.1} ms, max {:.1} ms",
            first[first.len() / 2].as_secs_f64() * 1000.0,
            first.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    report("warm exchange", &exchanges, ticks_per_second);
    if let Some(burst) = &exchanges.burst {
        println!(
            "  cold burst: {} first-time exchanges started at once mid-window: {} ok, {} × 503 (hashing lane full), {} × 429, slowest {:.1} ms; warm p99 in the 2 s after it {:.2} ms",
            burst.started, burst.ok, burst.busy, burst.throttled, burst.slowest_ms, burst.warm_p99_after_ms
        );
    }
    if let Some((commits, ticks)) = database {
        let n = exchanges.total.max(1) as f64;
        println!(
            "  PostgreSQL, over all {} exchanges (warm-up included): {:.2} transactions (round trips) per exchange, backend CPU {:.1} µs per exchange",
            exchanges.total,
            commits as f64 / n,
            ticks as f64 / ticks_per_second * 1e6 / n
        );
    }
    println!("  server peak RSS (VmHWM) after the exchanges: {exchange_peak:.1} MiB");
    if let Some(h) = &healthz {
        report(
            "GET /healthz (the ceiling of this run)",
            h,
            ticks_per_second,
        );
    }
    println!(
        "server memory at the end: RSS {rss:.1} MiB, peak {peak:.1} MiB; server CPU in all: {:.2} s",
        total_ticks as f64 / ticks_per_second
    );
}
