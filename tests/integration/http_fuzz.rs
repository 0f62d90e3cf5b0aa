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
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};

/// The route table, with `{}` where an id or name goes.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/auth/v1/token"),
    ("GET", "/api/auth/v1/authorize"),
    ("POST", "/api/auth/v1/authorize"),
    ("POST", "/api/auth/v1/device_authorization"),
    ("POST", "/api/auth/v1/revoke"),
    ("POST", "/api/auth/v1/introspect"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/device"),
    ("POST", "/device"),
    ("GET", "/oauth2/authorize/{}"),
    ("POST", "/oauth2/authorize/{}"),
    ("GET", "/login/sso/{}"),
    ("GET", "/login/sso/{}/callback"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("GET", "/settings/personal-tokens"),
    ("GET", "/settings/personal-tokens/new"),
    ("GET", "/settings/personal-tokens/callback"),
    ("GET", "/settings/personal-tokens/{}/revoke"),
    ("POST", "/settings/personal-tokens/{}/revoke"),
    ("POST", "/settings/personal-tokens/{}/regenerate"),
    ("GET", "/admin/access-tokens"),
    ("POST", "/admin/access-tokens"),
    ("GET", "/admin/access-tokens/new"),
    ("GET", "/admin/access-tokens/{}"),
    ("POST", "/admin/access-tokens/{}/revoke"),
    ("POST", "/admin/access-tokens/{}/restore"),
    ("GET", "/admin/users/revoke-all"),
    ("POST", "/admin/users/revoke-all"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users/disable"),
    ("POST", "/admin/users/enable"),
    ("GET", "/api/access-tokens/personal"),
    ("POST", "/api/access-tokens/personal"),
    ("GET", "/api/access-tokens/personal/{}"),
    ("DELETE", "/api/access-tokens/personal/{}"),
    ("POST", "/api/access-tokens/personal/{}/rotate"),
    ("GET", "/api/access-tokens/personal/{}/audit"),
    ("GET", "/api/access-tokens/service"),
    ("POST", "/api/access-tokens/service"),
    ("GET", "/api/access-tokens/service/scopes"),
    ("GET", "/api/access-tokens/service/{}"),
    ("DELETE", "/api/access-tokens/service/{}"),
    ("POST", "/api/access-tokens/service/{}/restore"),
    ("GET", "/api/access-tokens/service/{}/audit"),
    ("POST", "/api/access-tokens/users/{}/revoke-all"),
    ("POST", "/auth/token"),
    ("GET", "/admin/tokens"),
    ("POST", "/admin/tokens"),
    ("PATCH", "/admin/tokens/{}"),
    ("DELETE", "/admin/tokens/{}"),
    ("POST", "/admin/tokens/{}/restore"),
    ("POST", "/admin/tokens/find"),
    ("GET", "/static/patgate.css"),
    ("GET", "/nowhere/{}"),
];

const PARAMS: &[&str] = &[
    "grant_type",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "code",
    "code_verifier",
    "redirect_uri",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "device_code",
    "token",
    "token_type_hint",
    "subject_token",
    "subject_token_type",
    "q",
    "status",
    "owner",
    "cursor",
    "limit",
    "next",
    "user_code",
    "csrf",
    "action",
    "token_name",
    "expiry",
    "custom_date",
    "name",
    "includeSecretPhc",
];

const JSON_FIELDS: &[&str] = &[
    "name",
    "scopes",
    "expiresAt",
    "neverExpires",
    "graceSeconds",
    "owner",
    "description",
    "isAdmin",
    "cidrs",
    "id",
    "secretPhc",
    "ids",
    "reason",
    "records",
];

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

/// Credentials the mutations mix in, so authenticated paths are reached.
struct Material {
    pat: String,
    jwt: String,
    token_id: String,
}

fn value(rng: &mut StdRng, m: &Material) -> String {
    match rng.random_range(0..16) {
        0 => String::new(),
        1 => "a".repeat(rng.random_range(100..60_000)),
        2 => i64::MAX.to_string(),
        3 => i64::MIN.to_string(),
        4 => "1e400".into(),
        5 => "ü\u{0}\u{202e}😀".into(),
        6 => m.pat.clone(),
        7 => {
            let mut p = m.pat.clone().into_bytes();
            let at = rng.random_range(0..p.len());
            p[at] = b'A' + rng.random_range(0..26);
            String::from_utf8_lossy(&p).into_owned()
        }
        8 => m.token_id.clone(),
        9 => "%00%ff%".into(),
        10 => "../../etc/passwd".into(),
        11 => "-1".into(),
        12 => [
            "refresh_token",
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_credentials",
        ][rng.random_range(0..5)]
        .into(),
        13 => "read write patgate:admin".into(),
        14 => "2099-13-45T99:99:99Z".into(),
        _ => (0..rng.random_range(0..40))
            .map(|_| char::from(rng.random_range(32u8..127)))
            .collect(),
    }
}

fn json_value(rng: &mut StdRng, m: &Material) -> serde_json::Value {
    use serde_json::json;
    match rng.random_range(0..9) {
        0 => json!(null),
        1 => json!(rng.random::<i64>()),
        2 => json!(1e300),
        3 => json!([value(rng, m), "read"]),
        4 => json!({ "nested": value(rng, m) }),
        5 => json!(rng.random::<bool>()),
        6 => json!(u64::MAX),
        _ => json!(value(rng, m)),
    }
}

fn body(rng: &mut StdRng, m: &Material) -> (Option<&'static str>, Vec<u8>) {
    match rng.random_range(0..6) {
        0 => (None, Vec::new()),
        1 => {
            let n = rng.random_range(0..4096);
            (
                Some("application/octet-stream"),
                (0..n).map(|_| rng.random()).collect(),
            )
        }
        2 | 3 => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for _ in 0..rng.random_range(0..8) {
                let k = PARAMS[rng.random_range(0..PARAMS.len())];
                form.append_pair(k, &value(rng, m));
            }
            (
                Some("application/x-www-form-urlencoded"),
                form.finish().into_bytes(),
            )
        }
        4 => {
            let mut obj = serde_json::Map::new();
            for _ in 0..rng.random_range(0..6) {
                let k = JSON_FIELDS[rng.random_range(0..JSON_FIELDS.len())];
                obj.insert(k.into(), json_value(rng, m));
            }
            (Some("application/json"), serde_json::to_vec(&obj).unwrap())
        }
        _ => (Some("application/json"), b"{\"name\": [1, {\"".to_vec()),
    }
}

fn request(
    rng: &mut StdRng,
    base: &url::Url,
    m: &Material,
    http: &reqwest::Client,
) -> (String, reqwest::RequestBuilder) {
    let (method, template) = ROUTES[rng.random_range(0..ROUTES.len())];
    let id = match rng.random_range(0..4) {
        0 => m.token_id.clone(),
        1 => urlencode(&value(rng, m)),
        2 => "x".repeat(rng.random_range(1..3000)),
        _ => "kim".into(),
    };
    let mut url = base
        .join(&template.replace("{}", &id))
        .unwrap_or_else(|_| base.clone());
    if rng.random_bool(0.6) {
        let mut q = url.query_pairs_mut();
        for _ in 0..rng.random_range(0..6) {
            let k = PARAMS[rng.random_range(0..PARAMS.len())];
            q.append_pair(k, &value(rng, m));
        }
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(method.clone(), url.clone());
    let (content_type, bytes) = body(rng, m);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req = match rng.random_range(0..5) {
        0 => req.bearer_auth(&m.jwt),
        1 => req.bearer_auth(value(rng, m)),
        2 => req.basic_auth(value(rng, m), Some(value(rng, m))),
        _ => req,
    };
    if rng.random_bool(0.2) {
        req = req.header(
            "x-csrf-token",
            value(rng, m).chars().take(100).collect::<String>(),
        );
    }
    if rng.random_bool(0.1) {
        req = req.header(
            "cookie",
            format!("patgate_session={}", urlencode(&value(rng, m))),
        );
    }
    (format!("{method} {url}"), req.body(bytes))
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
        patgate::accounts::add_user(&s, "kim", &SecretString::new("fuzz password 1"), true)
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
    let answer: serde_json::Value = http
        .post(base.join("/api/auth/v1/token").unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pat.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
