//! Prometheus metrics (the `prometheus` crate's registry and text format),
//! served at `GET /metrics`.
//!
//! Counting sits on the hot path, so every series the exchange touches is
//! resolved once here and counted with one atomic add; series that depend
//! on the moment (pool connections, queue lengths, counts not yet written to
//! the audit log) are read when Prometheus scrapes.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// How an exchange ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// A JWT was issued.
    Issued,
    /// Refused (`invalid_grant` and kin); the reason is counted apart.
    Denied,
    /// Refused by a rate limit (429).
    Throttled,
    /// Answered 503 (hashing lane full, database unavailable).
    Unavailable,
    /// Answered 500: a defect or a fault that is not overload.
    Error,
}

impl ExchangeOutcome {
    const ALL: [ExchangeOutcome; 5] = [
        ExchangeOutcome::Issued,
        ExchangeOutcome::Denied,
        ExchangeOutcome::Throttled,
        ExchangeOutcome::Unavailable,
        ExchangeOutcome::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            ExchangeOutcome::Issued => "issued",
            ExchangeOutcome::Denied => "denied",
            ExchangeOutcome::Throttled => "throttled",
            ExchangeOutcome::Unavailable => "unavailable",
            ExchangeOutcome::Error => "error",
        }
    }
}

/// How a sign-in ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInResult {
    /// Signed in with a local password.
    Local,
    /// Signed in through an upstream provider.
    Sso,
    /// Wrong name or password, or refused upstream.
    Failed,
    /// Locked out for a while after failures.
    LockedOut,
}

/// What is read at scrape time.
#[derive(Debug, Default, Clone)]
pub struct Readings {
    /// Open database connections and, of those, idle ones.
    pub db_connections: (u32, u32),
    /// Verifications waiting for a hashing turn, per lane.
    pub hashing_waiting: Vec<(&'static str, usize)>,
    /// Exchanges waiting for the exchange threads.
    pub exchange_queue: usize,
    /// Exchanges and refusals counted but not yet in the audit log.
    pub audit_pending: i64,
    /// Seconds since the audit counts were last written (0 before the first).
    pub audit_flush_age_seconds: i64,
}

/// The registry and its series.
pub struct Metrics {
    registry: Registry,
    exchanges: Vec<(ExchangeOutcome, IntCounter)>,
    denials: IntCounterVec,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    requests: HistogramVec,
    hashing_wait: HistogramVec,
    sign_ins: Vec<(&'static str, IntCounter)>,
    db_connections: IntGaugeVec,
    hashing_waiting: IntGaugeVec,
    exchange_queue: IntGauge,
    audit_pending: IntGauge,
    audit_flush_age: IntGauge,
    clock_offset: prometheus::Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn registered<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, c: T) -> T {
    registry
        .register(Box::new(c.clone()))
        .expect("each series is registered once");
    c
}

/// Request durations from 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// A registry with every series at zero.
    pub fn new() -> Self {
        let r = Registry::new();
        let exchanges_vec = registered(
            &r,
            IntCounterVec::new(
                Opts::new("patgate_exchanges_total", "PAT to JWT exchanges by outcome"),
                &["outcome"],
            )
            .expect("valid"),
        );
        let exchanges = ExchangeOutcome::ALL
            .iter()
            .map(|o| (*o, exchanges_vec.with_label_values(&[o.label()])))
            .collect();
        let denials = registered(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "patgate_exchange_denials_total",
                    "Refused exchanges by reason (as in the audit log)",
                ),
                &["reason"],
            )
            .expect("valid"),
        );
        let cache = registered(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "patgate_verified_secret_cache_total",
                    "Exchanges whose secret was verified lately (hit) or needed argon2 (miss)",
                ),
                &["result"],
            )
            .expect("valid"),
        );
        let requests = registered(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "patgate_http_request_duration_seconds",
                    "HTTP request latency by route and status class",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["route", "status"],
            )
            .expect("valid"),
        );
        let hashing_wait = registered(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "patgate_hashing_wait_seconds",
                    "Time waited for a hashing (argon2) turn, by lane",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["lane"],
            )
            .expect("valid"),
        );
        let sign_in_vec = registered(
            &r,
            IntCounterVec::new(
                Opts::new("patgate_sign_ins_total", "Browser sign-ins by result"),
                &["result"],
            )
            .expect("valid"),
        );
        let sign_ins = ["local", "sso", "failed", "locked_out"]
            .into_iter()
            .map(|l| (l, sign_in_vec.with_label_values(&[l])))
            .collect();
        let gauge_vec = |name: &str, help: &str, label: &str| {
            registered(
                &r,
                IntGaugeVec::new(Opts::new(name, help), &[label]).expect("valid"),
            )
        };
        let gauge = |name: &str, help: &str| {
            registered(
                &r,
                IntGauge::with_opts(Opts::new(name, help)).expect("valid"),
            )
        };
        Self {
            exchanges,
            denials,
            cache_hits: cache.with_label_values(&["hit"]),
            cache_misses: cache.with_label_values(&["miss"]),
            requests,
            hashing_wait,
            sign_ins,
            db_connections: gauge_vec(
                "patgate_db_connections",
                "Open database connections by state",
                "state",
            ),
            hashing_waiting: gauge_vec(
                "patgate_hashing_waiting",
                "Verifications waiting for a hashing turn, by lane",
                "lane",
            ),
            exchange_queue: gauge(
                "patgate_exchange_queue",
                "Exchanges waiting for the exchange threads",
            ),
            audit_pending: gauge(
                "patgate_audit_pending_counts",
                "Exchanges and refusals counted but not yet written to the audit log",
            ),
            audit_flush_age: gauge(
                "patgate_audit_flush_age_seconds",
                "Seconds since the audit counts were last written",
            ),
            clock_offset: registered(
                &r,
                prometheus::Gauge::with_opts(Opts::new(
                    "patgate_clock_offset_seconds",
                    "The database server's clock minus this machine's, as last measured",
                ))
                .expect("valid"),
            ),
            registry: r,
        }
    }

    /// Records the measured offset of the database's clock from this machine's.
    pub fn clock_offset(&self, seconds: f64) {
        self.clock_offset.set(seconds);
    }

    /// Counts an exchange that ended with `outcome`.
    pub fn exchange(&self, outcome: ExchangeOutcome) {
        if let Some((_, c)) = self.exchanges.iter().find(|(o, _)| *o == outcome) {
            c.inc();
        }
    }

    /// Counts a refused exchange's reason.
    pub fn denial(&self, reason: &str) {
        self.denials.with_label_values(&[reason]).inc();
    }

    /// Counts whether an exchange's secret was in the verified cache.
    pub fn secret_cache(&self, hit: bool) {
        if hit {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    /// Observes a request of `route` (its pattern) answered with `status`.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .with_label_values(&[route, class])
            .observe(seconds);
    }

    /// Observes a wait for a hashing turn in `lane`.
    pub fn hashing_wait(&self, lane: &str, seconds: f64) {
        self.hashing_wait
            .with_label_values(&[lane])
            .observe(seconds);
    }

    /// Counts a sign-in.
    pub fn sign_in(&self, result: SignInResult) {
        let label = match result {
            SignInResult::Local => "local",
            SignInResult::Sso => "sso",
            SignInResult::Failed => "failed",
            SignInResult::LockedOut => "locked_out",
        };
        if let Some((_, c)) = self.sign_ins.iter().find(|(l, _)| *l == label) {
            c.inc();
        }
    }

    /// The Prometheus text format (version 0.0.4) of every series, with
    /// `readings` as the scrape-time gauges.
    pub fn render(&self, readings: &Readings) -> String {
        let (open, idle) = readings.db_connections;
        self.db_connections
            .with_label_values(&["in_use"])
            .set(i64::from(open.saturating_sub(idle)));
        self.db_connections
            .with_label_values(&["idle"])
            .set(i64::from(idle));
        for (lane, waiting) in &readings.hashing_waiting {
            self.hashing_waiting
                .with_label_values(&[lane])
                .set(*waiting as i64);
        }
        self.exchange_queue.set(readings.exchange_queue as i64);
        self.audit_pending.set(readings.audit_pending);
        self.audit_flush_age.set(readings.audit_flush_age_seconds);
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The media type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format() {
        let m = Metrics::new();
        m.exchange(ExchangeOutcome::Issued);
        m.exchange(ExchangeOutcome::Issued);
        m.exchange(ExchangeOutcome::Denied);
        m.denial("revoked");
        m.secret_cache(true);
        m.request("/api/auth/v1/token", 200, 0.002);
        m.sign_in(SignInResult::Failed);
        let text = m.render(&Readings {
            db_connections: (3, 1),
            hashing_waiting: vec![("exchange", 2)],
            ..Readings::default()
        });
        assert!(
            text.contains("patgate_exchanges_total{outcome=\"issued\"} 2"),
            "{text}"
        );
        assert!(text.contains("patgate_exchanges_total{outcome=\"denied\"} 1"));
        assert!(text.contains("patgate_exchange_denials_total{reason=\"revoked\"} 1"));
        assert!(text.contains("patgate_verified_secret_cache_total{result=\"hit\"} 1"));
        assert!(text.contains(
            "patgate_http_request_duration_seconds_count{route=\"/api/auth/v1/token\",status=\"2xx\"} 1"
        ));
        assert!(text.contains("patgate_sign_ins_total{result=\"failed\"} 1"));
        assert!(text.contains("patgate_db_connections{state=\"in_use\"} 2"));
        assert!(text.contains("patgate_hashing_waiting{lane=\"exchange\"} 2"));
    }
}
