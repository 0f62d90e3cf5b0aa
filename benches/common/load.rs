//! A minimal HTTP/1.1 load generator for the bench commands: keep-alive
//! connections sending pre-built requests round robin and reading
//! `Content-Length` answers, with a warm-up, a measured window, and the
//! server's CPU time over that window read from `/proc/<pid>/stat`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`).
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of `pid` so far, in clock ticks (fields 14 and 15 of
/// `/proc/<pid>/stat`, counted after the parenthesised command name).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    field(11).unwrap_or(0) + field(12).unwrap_or(0)
}

/// What to drive: `requests` round robin from `connections` connections.
pub struct Load {
    /// The server.
    pub addr: SocketAddr,
    /// Complete HTTP/1.1 requests, sent round robin.
    pub requests: Vec<Vec<u8>>,
    /// Keep-alive connections.
    pub connections: usize,
    /// Unmeasured time first.
    pub warmup: Duration,
    /// The measured window.
    pub measure: Duration,
    /// The server's process id, for its CPU time.
    pub pid: u32,
    /// Requests sent once each, all at once, in the middle of the window.
    pub cold_burst: Vec<Vec<u8>>,
}

/// The burst's answers, and the warm latency right after it started.
pub struct Burst {
    pub started: usize,
    pub ok: usize,
    pub busy: usize,
    pub throttled: usize,
    pub slowest_ms: f64,
    pub warm_p99_after_ms: f64,
}

/// What a load run measured in its window.
pub struct Outcome {
    /// Every answer, warm-up included.
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    pub busy: u64,
    pub throttled: u64,
    pub window: Duration,
    pub server_ticks: u64,
    /// Latencies of the answers in the window, µs, sorted.
    pub latencies: Vec<u32>,
    pub burst: Option<Burst>,
}

impl Outcome {
    /// The `q` quantile of the latencies, in ms.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    f64::from(sorted[i]) / 1000.0
}

/// One keep-alive connection.
struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Connection {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` and reads the answer; its status. Reconnects after
    /// an error or a closed connection.
    async fn round_trip(&mut self, request: &[u8]) -> std::io::Result<u16> {
        let result = self.exchange(request).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().unwrap();
        stream.write_all(request).await?;
        self.buf.clear();
        let (head_end, status, length) = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).map_err(invalid)?;
                let status = head
                    .get(9..12)
                    .and_then(|s| s.parse::<u16>().ok())
                    .ok_or_else(|| invalid("no status"))?;
                let length = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| invalid("no Content-Length"))?;
                break (end + 4, status, length);
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        };
        while self.buf.len() < head_end + length {
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(status)
    }
}

fn invalid(e: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

/// Sends each request once, one at a time, on one connection; how long
/// each took. Panics unless each is answered 200.
pub async fn first_exchanges(addr: SocketAddr, requests: Vec<Vec<u8>>) -> Vec<Duration> {
    let mut conn = Connection::new(addr);
    let mut times = Vec::new();
    for request in &requests {
        let started = Instant::now();
        let status = conn.round_trip(request).await.expect("server answers");
        assert_eq!(status, 200, "a first exchange failed");
        times.push(started.elapsed());
    }
    times
}

/// (completed at, ms since the window opened; latency µs; status).
type Sample = (u32, u32, u16);

/// Runs `load`; what it measured.
pub async fn run_load(load: Load) -> Outcome {
    let opened = Instant::now() + load.warmup;
    let closes = opened + load.measure;
    let requests = Arc::new(load.requests);
    let workers: Vec<_> = (0..load.connections)
        .map(|c| {
            let requests = requests.clone();
            let addr = load.addr;
            tokio::spawn(async move {
                let mut conn = Connection::new(addr);
                let mut samples: Vec<Sample> = Vec::with_capacity(1 << 16);
                let mut i = c;
                let mut total = 0u64;
                loop {
                    let request = &requests[i % requests.len()];
                    i += 1;
                    let started = Instant::now();
                    let status = conn.round_trip(request).await.unwrap_or(0);
                    let done = Instant::now();
                    total += 1;
                    if done >= closes {
                        break;
                    }
                    if done >= opened {
                        let at = (done - opened).as_millis() as u32;
                        let took = (done - started).as_micros() as u32;
                        samples.push((at, took, status));
                    }
                    if status == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                (samples, total)
            })
        })
        .collect();
    tokio::time::sleep_until(opened.into()).await;
    let ticks_before = cpu_ticks(load.pid);
    let burst_at = load.measure / 2;
    let burst_tasks: Vec<_> = if load.cold_burst.is_empty() {
        Vec::new()
    } else {
        tokio::time::sleep_until((opened + burst_at).into()).await;
        load.cold_burst
            .into_iter()
            .map(|request| {
                let addr = load.addr;
                tokio::spawn(async move {
                    let started = Instant::now();
                    let status = Connection::new(addr)
                        .round_trip(&request)
                        .await
                        .unwrap_or(0);
                    (status, started.elapsed())
                })
            })
            .collect()
    };
    tokio::time::sleep_until(closes.into()).await;
    let server_ticks = cpu_ticks(load.pid) - ticks_before;
    let (mut samples, mut total) = (Vec::new(), 0);
    for w in workers {
        let (some, answered) = w.await.expect("load task");
        samples.extend(some);
        total += answered;
    }
    let count = |code: u16| samples.iter().filter(|s| s.2 == code).count() as u64;
    let ok = count(200);
    let (busy, throttled) = (count(503), count(429));
    let failed = samples.len() as u64 - ok;
    let burst = if burst_tasks.is_empty() {
        None
    } else {
        let mut answers = Vec::new();
        for t in burst_tasks {
            answers.push(t.await.expect("burst task"));
        }
        let from = burst_at.as_millis() as u32;
        let mut after: Vec<u32> = samples
            .iter()
            .filter(|s| s.0 >= from && s.0 < from + 2000 && s.2 == 200)
            .map(|s| s.1)
            .collect();
        after.sort_unstable();
        let of = |code: u16| answers.iter().filter(|a| a.0 == code).count();
        Some(Burst {
            started: answers.len(),
            ok: of(200),
            busy: of(503),
            throttled: of(429),
            slowest_ms: answers
                .iter()
                .map(|a| a.1.as_secs_f64() * 1000.0)
                .fold(0.0, f64::max),
            warm_p99_after_ms: quantile_ms(&after, 0.99),
        })
    };
    let mut latencies: Vec<u32> = samples.iter().filter(|s| s.2 == 200).map(|s| s.1).collect();
    latencies.sort_unstable();
    Outcome {
        total,
        ok,
        failed,
        busy,
        throttled,
        window: load.measure,
        server_ticks,
        latencies,
        burst,
    }
}
