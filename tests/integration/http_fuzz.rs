//! HTTP fuzzing of every route: mutated paths, queries, bodies and headers,
//! from a seeded generator, against a real server on loopback. A 5xx is a
//! defect (a caller's mistake is never the server's fault): each one is
//! reported with the request that caused it.
//!
//! The long run is a command: `cargo bench --bench fuzz_http -- --requests
//! 100000` (this file is its module); the suite runs a short one.

use patgate::app::Services;
use patgate::clock::{OsRandom, SystemClock};
use patgate::config::Config;
use patgate::policy::Principal;
use patgate::secret::SecretString;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{self, IssueRequest};
use patgate::web::WebState;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::{Arc, Mutex};

#[path = "fuzz_mutations.rs"]
mod mutations;

use mutations::{request, Material};

/// What the fuzzer found.
#[derive(Debug, Default)]
pub struct Report {
    /// Requests sent and answered.
    pub sent: usize,
    /// Mutations no HTTP client can send (an invalid header value).
    pub unsendable: usize,
    /// Answers per status class (index 1–5).
    pub classes: [usize; 6],
    /// Requests answered 5xx: method, URL, status.
    pub server_errors: Vec<String>,
}

/// Boots patgate on a fresh SQLite database (light argon2, rate limits
/// off so every mutation reaches its handler); returns its base URL, the
/// services and what keeps it alive.
pub async fn boot() -> (
    url::Url,
    Arc<Services>,
    actix_web::dev::ServerHandle,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let config = format!(
        "issuer = {issuer:?}\ndata_dir = {data:?}\nmaster_key = \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"\n\
         [hashing]\nargon2_memory_kib = 64\nargon2_iterations = 1\n\
         [limits]\ncold_exchanges_per_token = 0\ncold_exchanges_per_address = 0\nanonymous_writes_per_address = 0\n\
         [compat]\nenabled = true\n",
        issuer = base.as_str(),
        data = dir.path().display().to_string(),
    );
    let table: toml::Table = toml::from_str(&config).unwrap();
    let config = Config::from_table(table).unwrap();
    let svc = actix_web::rt::task::spawn_blocking(move || {
        Services::open_with(config, Arc::new(SystemClock), Arc::new(OsRandom))
    })
    .await
    .unwrap()
    .unwrap();
    let svc = Arc::new(svc);
    let state = Arc::new(WebState::new(&svc.config));
    let server = patgate::web::server(svc.clone(), state, listener, Some(2)).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (base, svc, handle, dir)
}

/// The token endpoint's answer to exchanging `pat` at the server at `base`.
pub async fn exchange_at(http: &reqwest::Client, base: &url::Url, pat: &str) -> serde_json::Value {
    http.post(base.join("/api/auth/v1/token").unwrap())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", pat)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Sends `requests` mutated requests (mutations no client can send are
/// generated again) (seeded by `seed`) from `workers`
/// concurrent connections to the server at `base`.
pub async fn fuzz(
    base: &url::Url,
    svc: &Arc<Services>,
    requests: usize,
    seed: u64,
    workers: usize,
) -> Report {
    let s = svc.clone();
    let pat = actix_web::rt::task::spawn_blocking(move || {
        patgate::accounts::add_user(
            &s,
            &patgate::policy::Principal::operator("test"),
            "kim",
            &SecretString::new("fuzz password 1"),
            true,
        )
        .unwrap();
        let mut req = IssueRequest::new(
            TokenKind::Personal,
            "kim",
            "fuzz",
            vec![
                "patgate:admin".into(),
                "patgate:tokens:read".into(),
                "patgate:tokens:write".into(),
                "patgate:tokens:revoke".into(),
                "read".into(),
            ],
        );
        req.is_admin = true;
        tokens::issue(&s, &Principal::operator("fuzz"), req)
            .unwrap()
            .raw
            .expose()
            .to_string()
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let answer = exchange_at(&http, base, &pat).await;
    let material = Arc::new(Material {
        token_id: pat[4..25].to_string(),
        jwt: answer["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        pat,
    });
    let report = Arc::new(Mutex::new(Report::default()));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (base, http, m, report) =
            (base.clone(), http.clone(), material.clone(), report.clone());
        let share = requests / workers + usize::from(w < requests % workers);
        tasks.push(actix_web::rt::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ (w as u64).wrapping_mul(0x9e37_79b9));
            let mut sent = 0;
            while sent < share {
                let (what, req) = request(&mut rng, &base, &m, &http);
                let what: String = what.chars().take(300).collect();
                let status = match req.send().await {
                    Ok(res) => res.status().as_u16(),
                    // A header value no HTTP client may send: not sent.
                    Err(e) if e.is_builder() => {
                        report.lock().unwrap().unsendable += 1;
                        continue;
                    }
                    Err(e) => {
                        sent += 1;
                        report
                            .lock()
                            .unwrap()
                            .server_errors
                            .push(format!("{what}: no answer: {e}"));
                        continue;
                    }
                };
                sent += 1;
                let mut r = report.lock().unwrap();
                r.sent += 1;
                r.classes[usize::from(status / 100).min(5)] += 1;
                if status >= 500 {
                    r.server_errors.push(format!("{what} -> {status}"));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(report).unwrap().into_inner().unwrap()
}

#[actix_web::test]
async fn a_short_fuzz_of_every_route_finds_no_server_error() {
    let (base, svc, handle, _dir) = boot().await;
    let report = fuzz(&base, &svc, 3_000, 7, 8).await;
    drop(handle.stop(false));
    assert_eq!(report.sent, 3_000, "{:?}", report.server_errors);
    assert!(report.classes[2] > 0 && report.classes[4] > 0, "{report:?}");
    assert!(
        report.server_errors.is_empty(),
        "{:#?}",
        report.server_errors
    );
}
