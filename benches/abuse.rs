//! Abuse command: starts the release `patgate serve` (default argon2 cost,
//! default `[limits]`, fresh SQLite; pinned to CPU 0 when `taskset` is
//! there) and runs the floods of issue #11 against it over loopback:
//!
//! 1. baseline: first (cold) exchange, sign-in and warm exchange latency;
//! 2. a wrong-secret flood (64 connections) against known token ids, from
//!    one address and from many (X-Forwarded-For through a trusted proxy),
//!    while measuring warm exchange p99, cold exchange and sign-in latency;
//! 3. peak and idle RSS of the server (VmHWM / VmRSS);
//! 4. database growth for 10,000 anonymous authorize and 10,000 device
//!    authorization requests, from one address and from 10,000 addresses.
//!
//! Run: `cargo bench --bench abuse` (ABUSE_SECONDS=15 per flood;
//! ABUSE_LIMITS=off turns the rate limits off to measure the hashing lanes
//! and argon2's memory alone).

#[path = "common/mod.rs"]
mod common;

use common::{issue, memory, patgate, start};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLOOD_CONNECTIONS: usize = 64;
/// Samples of first exchanges and sign-ins per phase (the median is shown).
const SAMPLES: usize = 5;

/// The database's size once its WAL is checkpointed into it (from a
/// connection of our own; the server keeps running).
fn database_bytes(dir: &Path) -> u64 {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let file = dir.join("patgate.db");
    let mut conn = diesel::SqliteConnection::establish(file.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0)
}

fn p(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Bench {
    http: reqwest::Client,
    base: String,
}

impl Bench {
    async fn exchange(&self, pat: &str, from: Option<&str>) -> (u16, Duration) {
        let started = Instant::now();
        let mut req = self
            .http
            .post(format!("{}/api/auth/v1/token", self.base))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", pat)]);
        if let Some(ip) = from {
            req = req.header("x-forwarded-for", ip);
        }
        let status = match req.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        (status, started.elapsed())
    }

    /// Median of [`SAMPLES`] first exchanges of `pats` and of as many
    /// sign-ins, and how many first exchanges were refused (503: the
    /// exchange lane's queue was full).
    async fn cold_and_sign_in(&self, pats: &[String]) -> (Duration, Duration, usize) {
        let (mut first, mut sign_in, mut refused) = (Vec::new(), Vec::new(), 0);
        for pat in pats {
            // From the holder's own address, not the flood's.
            let (status, d) = self.exchange(pat, Some("192.0.2.10")).await;
            match status {
                200 => first.push(d),
                _ => refused += 1,
            }
            sign_in.push(self.sign_in().await);
        }
        first.sort();
        sign_in.sort();
        (p(&first, 0.5), p(&sign_in, 0.5), refused)
    }

    async fn sign_in(&self) -> Duration {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = browser
            .get(format!("{}/login", self.base))
            .header("x-forwarded-for", "192.0.2.20")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string();
        let started = Instant::now();
        let res = browser
            .post(format!("{}/login", self.base))
            .header("x-forwarded-for", "192.0.2.20")
            .form(&[
                ("username", "alice"),
                ("password", "bench password 1"),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "sign-in");
        started.elapsed()
    }

    /// Warm exchanges of `pats` from 4 connections for `seconds`: sorted latencies.
    async fn warm(self: &Arc<Self>, pats: &[String], seconds: u64) -> Vec<Duration> {
        let until = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..4 {
            let (b, pats) = (self.clone(), pats.to_vec());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c;
                while Instant::now() < until {
                    let (status, d) = b.exchange(&pats[i % pats.len()], None).await;
                    assert_eq!(status, 200, "warm exchange");
                    lat.push(d);
                    i += 1;
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        all
    }

    /// Wrong secrets for `ids` from 64 connections for `seconds`, from one
    /// address or from many; returns (answered 400, answered 429, other).
    async fn flood(self: &Arc<Self>, ids: &[String], seconds: u64, many: bool) -> [u64; 3] {
        let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
        let until = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..FLOOD_CONNECTIONS {
            let (b, ids, counts) = (self.clone(), ids.to_vec(), counts.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = c;
                while Instant::now() < until {
                    let forged = format!("pat_{}.{}", ids[i % ids.len()], "x".repeat(40));
                    let ip = format!("10.{}.{}.{}", (i / 65536) % 256, (i / 256) % 256, i % 256);
                    let (status, _) = b.exchange(&forged, many.then_some(ip.as_str())).await;
                    let slot = match status {
                        400 => 0,
                        429 => 1,
                        _ => 2, // 503: a hashing queue was full
                    };
                    counts[slot].fetch_add(1, Ordering::Relaxed);
                    i += FLOOD_CONNECTIONS;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        [0, 1, 2].map(|i| counts[i].load(Ordering::Relaxed))
    }

    /// `n` anonymous authorize and device authorization requests (64 at a
    /// time); returns how many were accepted and the statuses of the others.
    async fn anonymous(&self, n: usize, many: bool) -> (u64, std::collections::BTreeMap<u16, u64>) {
        use futures_util::StreamExt;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let statuses: Vec<u16> = futures_util::stream::iter(0..n)
            .map(|i| {
                let ip = format!("10.9.{}.{}", (i / 256) % 256, i % 256);
                let (path, form): (&str, Vec<(&str, &str)>) = if i % 2 == 0 {
                    (
                        "/api/auth/v1/authorize",
                        vec![
                            ("client_id", "patgate-cli"),
                            ("redirect_uri", "http://127.0.0.1:9/callback"),
                            ("response_type", "code"),
                            (
                                "code_challenge",
                                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                            ),
                            ("code_challenge_method", "S256"),
                            ("state", "0123456789abcdef0123456789abcdef"),
                        ],
                    )
                } else {
                    (
                        "/api/auth/v1/device_authorization",
                        vec![("client_id", "patgate-cli")],
                    )
                };
                let mut req = http.post(format!("{}{path}", self.base)).form(&form);
                if many {
                    req = req.header("x-forwarded-for", ip);
                }
                async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let (mut stored, mut refused) = (0, std::collections::BTreeMap::new());
        for status in statuses {
            match status {
                302 | 200 => stored += 1,
                other => *refused.entry(other).or_insert(0) += 1,
            }
        }
        (stored, refused)
    }
}

fn main() {
    let seconds: u64 = std::env::var("ABUSE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    // ABUSE_LIMITS=off: every wrong secret costs a full argon2 (the hashing
    // lanes and the pooled memory are all that bound it).
    let limits_off = std::env::var("ABUSE_LIMITS").is_ok_and(|v| v == "off");
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let config = dir.path().join("abuse.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ntrusted_proxies = [\"127.0.0.1/32\"]\n{}",
            data.display().to_string(),
            if limits_off {
                "[limits]\ncold_exchanges_per_token = 0\ncold_exchanges_per_address = 0\n"
            } else {
                ""
            }
        ),
    )
    .unwrap();
    let mut pats: Vec<String> = (0..8)
        .map(|i| issue(&config, &format!("warm{i}")))
        .collect();
    let cold: Vec<String> = (0..3 * SAMPLES)
        .map(|i| issue(&config, &format!("cold{i}")))
        .collect();
    let mut add = patgate(&config)
        .args(["admin", "user", "add", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"bench password 1\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let ids: Vec<String> = pats.iter().map(|p| p[4..25].to_string()).collect();
    let (server, base) = start(&config, true);
    let pid = server.0.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let bench = Arc::new(Bench {
            http: reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap(),
            base,
        });
        let idle = memory(pid).0;
        // Baseline.
        let (first_quiet, sign_in_quiet, _) = bench.cold_and_sign_in(&cold[..SAMPLES]).await;
        for p in &pats {
            bench.exchange(p, None).await;
        }
        let quiet = bench.warm(&pats, 3).await;
        println!("baseline: first exchange {} (median of {SAMPLES}), sign-in {}, warm p50 {} p99 {} ({} exchanges)",
            ms(first_quiet), ms(sign_in_quiet), ms(p(&quiet, 0.5)), ms(p(&quiet, 0.99)), quiet.len());
        for (phase, (label, many)) in [("one address", false), ("many addresses", true)].into_iter().enumerate() {
            let flood = { let b = bench.clone(); let ids = ids.clone(); tokio::spawn(async move { b.flood(&ids, seconds, many).await }) };
            tokio::time::sleep(Duration::from_secs(2)).await;
            let warm = bench.warm(&pats, seconds.saturating_sub(6).max(2)).await;
            let mine = &cold[(phase + 1) * SAMPLES..(phase + 2) * SAMPLES];
            let (first, sign_in, refused) = bench.cold_and_sign_in(mine).await;
            let [wrong, throttled, other] = flood.await.unwrap();
            let per_s = |n: u64| n as f64 / seconds as f64;
            println!("flood from {label} ({FLOOD_CONNECTIONS} connections, {seconds} s): wrong secrets answered 400 {:.0}/s, refused 429 {:.0}/s, 503 (queue full) {other}",
                per_s(wrong), per_s(throttled));
            println!("  during it: warm p50 {} p99 {} ({} exchanges); first exchange {} ({:.1}× baseline; {refused} of {SAMPLES} refused 503); sign-in {} ({:.1}×)",
                ms(p(&warm, 0.5)), ms(p(&warm, 0.99)), warm.len(), ms(first),
                first.as_secs_f64() / first_quiet.as_secs_f64(), ms(sign_in),
                sign_in.as_secs_f64() / sign_in_quiet.as_secs_f64());
        }
        let (_, peak) = memory(pid);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (after, _) = memory(pid);
        println!("server RSS: idle {idle:.0} MiB, peak {peak:.0} MiB, 5 s after the floods {after:.0} MiB");
        for (label, many) in [("one address", false), ("10,000 addresses", true)] {
            let before = database_bytes(&data);
            let (stored, refused) = bench.anonymous(10_000, many).await;
            let grown = database_bytes(&data).saturating_sub(before);
            println!("10,000 anonymous authorize/device requests from {label}: {stored} stored, refused {refused:?}; database +{:.2} MB",
                grown as f64 / 1e6);
        }
        pats.clear();
    });
    drop(server);
}
