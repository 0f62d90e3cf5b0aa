//! HTTP fuzz command: boots patgate (release build, fresh SQLite, rate
//! limits off) and sends mutated requests over every route; prints the
//! answers per status class and every 5xx, and exits 1 if there was one.
//!
//! Run: `cargo bench --bench fuzz_http -- --requests 100000 [--seed N] [--workers N]`
//! (the suite runs a 3,000-request version of the same fuzzer).

#[path = "../tests/integration/http_fuzz.rs"]
#[allow(dead_code)]
mod http_fuzz;

fn flag(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests = flag(&args, "--requests", 100_000) as usize;
    let seed = flag(&args, "--seed", 1);
    let workers = flag(&args, "--workers", 16) as usize;
    let report = actix_web::rt::System::new().block_on(async move {
        let (base, svc, handle, _dir) = http_fuzz::boot().await;
        let started = std::time::Instant::now();
        let report = http_fuzz::fuzz(&base, &svc, requests, seed, workers).await;
        eprintln!("{} requests in {:.1?}", report.sent, started.elapsed());
        handle.stop(false).await;
        report
    });
    println!(
        "sent {} (unsendable mutations skipped: {}); 1xx {} 2xx {} 3xx {} 4xx {} 5xx {}",
        report.sent,
        report.unsendable,
        report.classes[1],
        report.classes[2],
        report.classes[3],
        report.classes[4],
        report.classes[5]
    );
    for e in report.server_errors.iter().take(50) {
        println!("SERVER ERROR: {e}");
    }
    if !report.server_errors.is_empty() {
        std::process::exit(1);
    }
}
