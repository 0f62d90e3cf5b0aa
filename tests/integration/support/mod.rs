//! The test harness: `TestApp` boots the real app on a fresh database.

pub mod browser;
pub mod db;
mod jwt;
pub mod oidc;
pub mod pg_processes;
pub mod process;
pub mod smtp;
pub mod stalling_proxy;
pub mod stub;

pub use db::TestDb;
pub use jwt::verify_jwt;
pub use process::{command, issue_pat, run, succeeded, write_config, PatgateProcess};

use patgate::app::Services;
use patgate::clock::{ManualClock, OsRandom};
use patgate::config::Config;
use patgate::policy::Principal;
use patgate::store::models::TokenRecord;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{self, IssueRequest, Lookup, RequestedLifetime};
use patgate::web::WebState;
use serde_json::Value;
use std::net::TcpListener;
use std::sync::Arc;

/// The scopes of patgate's own API that manage one's own tokens.
pub const TOKEN_API_SCOPES: [&str; 3] = [
    "patgate:tokens:read",
    "patgate:tokens:write",
    "patgate:tokens:revoke",
];

/// A master key shared by every instance a test starts on one database.
pub const TEST_MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The settings every test app starts from: light argon2, a fixed master key.
pub fn base_config(db: &TestDb) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("database_url".into(), db.url.clone().into());
    if db.pooler {
        t.insert("database_pooler".into(), "transaction".into());
    }
    t.insert(
        "data_dir".into(),
        db.dir.path().display().to_string().into(),
    );
    t.insert("master_key".into(), TEST_MASTER_KEY.into());
    t.insert("database_pool_size".into(), 4.into());
    // The tests move a manual clock; the database's would set it back.
    t.insert("database_clock".into(), "local".into());
    let mut hashing = toml::Table::new();
    hashing.insert("argon2_memory_kib".into(), 64.into());
    hashing.insert("argon2_iterations".into(), 1.into());
    t.insert("hashing".into(), hashing.into());
    t
}

/// A running patgate on a loopback port, with a clock the test moves.
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: url::Url,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    /// The app's services (same process).
    pub svc: Arc<Services>,
    /// The app's clock.
    pub clock: Arc<ManualClock>,
    /// What the web layer keeps (exchange counts not yet written).
    pub state: Arc<WebState>,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Boots patgate on `db` with the base configuration.
    pub async fn start(db: &TestDb) -> TestApp {
        Self::start_with(db, |_| {}).await
    }

    /// Boots patgate on `db` after `tweak` edits the configuration.
    pub async fn start_with(db: &TestDb, tweak: impl FnOnce(&mut toml::Table)) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let mut table = base_config(db);
        table.insert("issuer".into(), base.as_str().into());
        tweak(&mut table);
        let config = Config::from_table(table).expect("test config is valid");
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let c = clock.clone();
        let svc = actix_web::rt::task::spawn_blocking(move || {
            Services::open_with(config, c, Arc::new(OsRandom))
        })
        .await
        .unwrap()
        .expect("services open");
        let svc = Arc::new(svc);
        let state = Arc::new(WebState::new(&svc.config));
        let server = patgate::web::server(svc.clone(), state.clone(), listener, Some(1)).unwrap();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            http,
            svc,
            clock,
            state,
            handle,
        }
    }

    /// An absolute URL on this app.
    pub fn url(&self, path: &str) -> url::Url {
        self.base.join(path).unwrap()
    }

    /// Runs blocking domain work off the test's runtime thread.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Services) -> T + Send + 'static,
    ) -> T {
        let svc = self.svc.clone();
        actix_web::rt::task::spawn_blocking(move || f(&svc))
            .await
            .unwrap()
    }

    /// Issues a personal token with `scopes` and the given lifetime.
    pub async fn issue(
        &self,
        owner: &str,
        name: &str,
        scopes: &[&str],
        lifetime: RequestedLifetime,
    ) -> String {
        let scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.issue_request(IssueRequest {
            lifetime,
            ..IssueRequest::new(TokenKind::Personal, owner, name, scopes)
        })
        .await
    }

    /// Issues `req` as the operator, expecting success; returns the raw token.
    pub async fn issue_request(&self, req: IssueRequest) -> String {
        let issued = self
            .blocking(move |s| tokens::issue(s, &Principal::operator("test"), req))
            .await;
        match issued {
            Ok(t) => t.raw.expose().to_string(),
            Err(e) => panic!("issue failed: {e:?}"),
        }
    }

    /// Revokes token `id` as the operator `by`, expecting success.
    pub async fn revoke(&self, id: &str, by: &str) {
        let (id, who) = (id.to_string(), Principal::operator(by));
        self.blocking(move |s| s.write(|tx| tokens::revoke(tx, &who, &id, Lookup::Any, None)))
            .await
            .expect("revoked");
    }

    /// Writes the exchange counts waiting for the audit log.
    pub async fn flush_counts(&self) -> usize {
        let state = self.state.clone();
        self.blocking(move |s| state.exchange_counts.flush(&s.db, s.random.as_ref()))
            .await
            .unwrap()
    }

    /// The access token (JWT) `pat` exchanges for.
    pub async fn jwt_for(&self, pat: &str) -> String {
        self.exchange_ok(pat).await["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    /// A PAT of `owner` named `name` with the token API's scopes, and a JWT
    /// it exchanged for.
    pub async fn token_api_jwt(&self, owner: &str, name: &str) -> (String, String) {
        let pat = self
            .issue(owner, name, &TOKEN_API_SCOPES, RequestedLifetime::Default)
            .await;
        let jwt = self.jwt_for(&pat).await;
        (pat, jwt)
    }

    /// A JWT with `typ` and `claims` signed by patgate's active key: the
    /// worst case of a credential of another kind.
    pub async fn signed_by_patgate(&self, typ: patgate::keys::JwtType, claims: Value) -> String {
        self.blocking(move |s| {
            let mut conn = s.conn().unwrap();
            s.keys
                .active(&mut conn)
                .unwrap()
                .sign(typ, &claims)
                .unwrap()
        })
        .await
    }

    /// Every stored token, newest first.
    pub async fn all_tokens(&self) -> Vec<TokenRecord> {
        self.blocking(|s| {
            let mut all = Vec::new();
            let who = Principal::operator("test");
            tokens::admin::each_batch(s, &who, 100, |batch| {
                all.extend_from_slice(batch);
                Ok::<_, patgate::error::OpError>(())
            })
            .map(|()| all)
        })
        .await
        .unwrap()
    }

    /// The names of token `id`'s audit events, newest first.
    pub async fn events_of(&self, id: &str) -> Vec<String> {
        let id = id.to_string();
        let page = self
            .blocking(move |s| s.read(|tx| patgate::audit::for_token(tx.conn, &id, None, 200)))
            .await
            .unwrap();
        page.events.into_iter().map(|e| e.event).collect()
    }

    /// Adds a local account.
    pub async fn add_user(&self, name: &str, password: &str, admin: bool) {
        let (name, password) = (
            name.to_string(),
            patgate::secret::SecretString::new(password),
        );
        let outcome = self
            .blocking(move |s| {
                let who = patgate::policy::Principal::operator("test");
                patgate::accounts::add_user(s, &who, &name, &password, admin)
            })
            .await
            .unwrap();
        assert_eq!(outcome, patgate::accounts::AddUserOutcome::Added);
    }

    /// The audit events about people and clients (no token), oldest first.
    pub async fn account_events(&self) -> Vec<patgate::audit::AuditView> {
        self.blocking(|s| {
            let mut all = Vec::new();
            patgate::audit::export(s, None, 100, |batch| {
                all.extend(batch);
                Ok::<_, patgate::store::StoreError>(())
            })
            .map(|()| all)
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.token_id.is_none())
        .collect()
    }

    /// The stored record of token `id`.
    pub async fn record(&self, id: &str) -> TokenRecord {
        let id = id.to_string();
        self.blocking(move |s| patgate::store::tokens::find(&mut s.conn().unwrap(), &id))
            .await
            .unwrap()
            .expect("token exists")
    }

    /// `POST /api/auth/v1/token` with a form body.
    pub async fn token_form(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/api/auth/v1/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Exchanges `pat` (refresh grant).
    pub async fn exchange(&self, pat: &str) -> reqwest::Response {
        self.token_form(&[("grant_type", "refresh_token"), ("refresh_token", pat)])
            .await
    }

    /// Exchanges `pat`, expecting 200; returns the JSON body.
    pub async fn exchange_ok(&self, pat: &str) -> Value {
        let res = self.exchange(pat).await;
        assert_eq!(res.status(), 200, "exchange should succeed");
        res.json().await.unwrap()
    }

    /// The served JWKS.
    pub async fn jwks(&self) -> Value {
        let res = self
            .http
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the server winds down with the runtime.
        drop(self.handle.stop(false));
    }
}

/// A test that cannot run in this environment: prints a notice (past the
/// harness's capture) and returns, except under `CI=true`, where CI
/// installs everything the suite needs, so a skip is a failure.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\nnotice: {why}: skipped\n");
    not_in_ci(why);
}

/// Fails under `CI=true`: `why` a test could not run.
pub fn not_in_ci(why: &str) {
    assert!(
        std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
        "{why}: CI must run this test"
    );
}

/// `pat` with its secret changed (still well-formed).
pub fn wrong_secret(pat: &str) -> String {
    let (head, _) = pat.split_once('.').expect("pat_<id>.<secret>");
    format!("{head}.{}", "x".repeat(40))
}

/// The claims of a JWT, unverified (the tests read what patgate minted).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The token id inside a raw token.
pub fn token_id(raw: &str) -> String {
    patgate::tokens::format::PresentedToken::parse(raw)
        .unwrap()
        .id
}

/// Asserts an RFC 6749 §5.2 error response with `code` and `no-store`.
pub async fn assert_oauth_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status, "status");
    assert_eq!(
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "error code in {body}");
    assert!(
        body["error_description"].is_string(),
        "error_description in {body}"
    );
    body
}
