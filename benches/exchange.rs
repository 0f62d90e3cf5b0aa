//! Exchange benchmark: starts the release `patgate serve` on a fresh SQLite
//! database (default argon2 cost), issues one PAT with `patgate admin token
//! issue`, then drives `POST /api/auth/v1/token` over loopback with
//! BENCH_CONCURRENCY keep-alive connections for BENCH_SECONDS seconds and
//! prints requests/s and latency percentiles.
//!
//! Run: `cargo bench --bench exchange` (BENCH_SECONDS=10, BENCH_CONCURRENCY=16).

#[path = "common/mod.rs"]
mod common;

use common::{issue, start};
use std::time::{Duration, Instant};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let seconds = setting("BENCH_SECONDS", 10);
    let concurrency = setting("BENCH_CONCURRENCY", 16) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    let data_dir = dir.path().join("data").display().to_string();
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata_dir = {data_dir:?}\n"),
    )
    .unwrap();

    let pat = issue(&config, "bench");
    let (server, base) = start(&config, false);
    let url = format!("{base}/api/auth/v1/token");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cold, latencies, errors, elapsed) = runtime.block_on(async move {
        let client = reqwest::Client::new();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", pat.as_str()),
        ];
        let started = Instant::now();
        let res = client.post(&url).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 200, "first exchange");
        let cold = started.elapsed();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let begin = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, url, pat) = (client.clone(), url.clone(), pat.clone());
                tokio::spawn(async move {
                    let form = [
                        ("grant_type", "refresh_token"),
                        ("refresh_token", pat.as_str()),
                    ];
                    let (mut times, mut errors) = (Vec::new(), 0u64);
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let ok = match client.post(&url).form(&form).send().await {
                            Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                            Err(_) => false,
                        };
                        if ok {
                            times.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    (times, errors)
                })
            })
            .collect();
        let (mut all, mut errors) = (Vec::new(), 0);
        for w in workers {
            let (times, e) = w.await.unwrap();
            all.extend(times);
            errors += e;
        }
        (cold, all, errors, begin.elapsed())
    });
    drop(server);

    let mut sorted = latencies;
    sorted.sort();
    assert!(!sorted.is_empty(), "no successful exchange");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "patgate exchange benchmark: {seconds}s, {concurrency} connections, SQLite, release build"
    );
    println!("  first (cold, full argon2id) exchange: {:.2} ms", ms(cold));
    println!("  requests: {} ok, {errors} failed", sorted.len());
    println!(
        "  throughput: {:.0} requests/s",
        sorted.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&sorted, 0.50)),
        ms(percentile(&sorted, 0.90)),
        ms(percentile(&sorted, 0.99)),
        ms(*sorted.last().unwrap())
    );
}
