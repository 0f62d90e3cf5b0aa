//! Holes found from outside in the OAuth flows, reproduced and now refused
//! with nothing changed: consent that ignored the person's permissions (3),
//! and a PAT of a confidential client that worked without that client (5).
//! and an SSO sign-in finished in another browser than the one that
//! started it (4).

use crate::both_backends;
use crate::support::browser::{
    approved_code, authorize_url, cli_client, location, query_value, signed_in, Browser,
    LOOPBACK_REDIRECT,
};
use crate::support::oidc::TestProvider;
use crate::support::{assert_oauth_error, TestApp, TestDb};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use patgate::secret::hashing::SecretHasher;
use serde_json::{json, Value};

both_backends!(
    consent_and_the_device_page_need_the_write_permission,
    a_callback_opened_in_another_browser_signs_nobody_in,
    a_confidential_clients_pat_needs_that_client,
    only_an_admin_approves_the_admin_scope,
);

/// The consent screen's session id, from its path.
fn session_of(path: &str) -> String {
    path.rsplit('/').next().unwrap().to_string()
}

async fn status_of(app: &TestApp, session: &str) -> patgate::store::SessionStatus {
    let id = session.to_string();
    app.blocking(move |s| s.read(|tx| patgate::store::authorization::find_session(tx.conn, &id)))
        .await
        .unwrap()
        .expect("the session exists")
        .status
}

async fn consent_and_the_device_page_need_the_write_permission(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let mut access = toml::Table::new();
        access.insert("everyone".into(), vec!["access-tokens:user:read"].into());
        t.insert("access".into(), access.into());
    })
    .await;
    let (browser, csrf) = signed_in(&app, "alice", false).await;

    // The code flow: the consent screen is refused, and so is approving it.
    let client = cli_client(&app, "patgate-cli", LOOPBACK_REDIRECT);
    let (url, _, _) = authorize_url(&client, &["read"]);
    let consent = location(&browser.get(url.as_str()).await)
        .path()
        .to_string();
    let page = browser.get(&consent).await;
    assert_eq!(page.status(), 403);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("access-tokens:user:write"));
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("token_name", "sneaky"),
        ("expiry", "30"),
        ("scope", "read"),
    ];
    let res = browser.post(&consent, &form).await;
    assert_eq!(res.status(), 403, "no redirect with a code");
    assert!(res.headers().get("location").is_none());
    assert_eq!(
        status_of(&app, &session_of(&consent)).await,
        patgate::store::SessionStatus::Pending
    );

    // The device flow: the page, typing the code, and the consent screen.
    let started = crate::device_grant::start(&app).await;
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(browser.get("/device").await.status(), 403);
    let typed = [("csrf", csrf.as_str()), ("user_code", user_code)];
    assert_eq!(browser.post("/device", &typed).await.status(), 403);
    let device_code = started["device_code"].as_str().unwrap();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
        ("client_id", "patgate-cli"),
    ];
    assert_oauth_error(app.token_form(&poll).await, 400, "authorization_pending").await;
    // And the settings page's own flow, as before.
    assert_eq!(
        browser.get("/settings/personal-tokens/new").await.status(),
        403
    );
    assert!(app.all_tokens().await.is_empty(), "nothing was created");
}

/// Login CSRF (RFC 6749 §10.12, RFC 9700 §4.7.1, OIDC Core §3.1.2.1): an
/// attacker signs in at the provider and has a victim's browser open the
/// callback URL. The sign-in is bound to the browser that started it, so
/// the victim is signed in as nobody, and the attacker's own browser can
/// still finish it.
async fn a_callback_opened_in_another_browser_signs_nobody_in(db: TestDb) {
    let provider = TestProvider::start();
    let app = crate::sso::app_with(&db, &provider, "").await;
    provider.next_person("attacker", json!({"email": "mallory@example.com"}));
    let attacker = Browser::new(&app);
    let to_provider = location(&attacker.get("/login/sso/idp?next=/").await);
    let callback = location(&attacker.get(to_provider.as_str()).await);
    assert_eq!(callback.path(), "/login/sso/idp/callback");

    let victim = Browser::new(&app);
    let res = victim.get(callback.as_str()).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no session cookie"
    );
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("started in another browser"));
    assert_eq!(crate::sso::signed_in_as(&victim).await, None);
    let unused = app
        .blocking(|s| {
            use diesel::{QueryDsl, RunQueryDsl};
            use patgate::store::schema::sso_logins::dsl as l;
            s.read(|tx| {
                l::sso_logins
                    .select(l::used)
                    .load::<bool>(tx.conn)
                    .map_err(patgate::store::StoreError::from)
            })
        })
        .await
        .unwrap();
    assert_eq!(unused, vec![false], "the sign-in is not consumed");

    let res = attacker.get(callback.as_str()).await;
    assert_eq!(res.status(), 303, "its own browser still finishes it");
    assert_eq!(
        crate::sso::signed_in_as(&attacker).await.as_deref(),
        Some("idp:attacker")
    );
}

const WEBAPP_SECRET: &str = "webapp-secret-0123456789";
const OTHER_SECRET: &str = "other-secret-0123456789";
const RS_SECRET: &str = "resource-server-secret-0123";
const REDIRECT: &str = "https://webapp.example/callback";

fn client(id: &str, secret: &str) -> toml::Table {
    let hash = SecretHasher::new(64, 1, 1, 1)
        .unwrap()
        .hash(secret, &patgate::clock::OsRandom)
        .unwrap();
    let mut c = toml::Table::new();
    c.insert("id".into(), id.into());
    c.insert("name".into(), format!("Client {id}").into());
    c.insert("redirect_uris".into(), vec![REDIRECT].into());
    c.insert("secret_hash".into(), hash.into());
    c
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// `POST path` with a form and, optionally, client authentication.
async fn post(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    auth: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = app.http.post(app.url(path)).form(form);
    if let Some((id, secret)) = auth {
        req = req.header("authorization", basic(id, secret));
    }
    req.send().await.unwrap()
}

/// A PAT that `webapp` (client_secret_basic) obtained through consent.
async fn webapp_pat(app: &TestApp) -> String {
    let (back, state, verifier) = approved_code(app, "alice", "webapp", REDIRECT).await;
    assert_eq!(query_value(&back, "state").as_ref(), Some(state.secret()));
    let code = query_value(&back, "code").expect("a code");
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.secret().as_str()),
    ];
    let res = post(
        app,
        "/api/auth/v1/token",
        &grant,
        Some(("webapp", WEBAPP_SECRET)),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_string()
}

async fn a_confidential_clients_pat_needs_that_client(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let clients = vec![
            client("webapp", WEBAPP_SECRET),
            client("other", OTHER_SECRET),
            client("rs", RS_SECRET),
        ];
        t.insert("clients".into(), clients.into());
    })
    .await;
    let pat = webapp_pat(&app).await;
    let id = crate::support::token_id(&pat);
    assert_eq!(
        app.record(&id).await.bound_client_id.as_deref(),
        Some("webapp")
    );
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", pat.as_str()),
    ];
    let token = "/api/auth/v1/token";

    // The attack: the PAT alone, as another client, with a wrong secret.
    let alone = post(&app, token, &refresh, None).await;
    assert!(alone.headers().contains_key("www-authenticate"));
    assert_oauth_error(alone, 401, "invalid_client").await;
    let other = post(&app, token, &refresh, Some(("other", OTHER_SECRET))).await;
    assert_oauth_error(other, 400, "invalid_grant").await;
    let wrong = post(&app, token, &refresh, Some(("webapp", "not-the-secret"))).await;
    assert_oauth_error(wrong, 401, "invalid_client").await;
    let in_body = [
        ("grant_type", "refresh_token"),
        ("refresh_token", pat.as_str()),
        ("client_id", "webapp"),
        ("client_secret", "not-the-secret"),
    ];
    assert_oauth_error(
        post(&app, token, &in_body, None).await,
        401,
        "invalid_client",
    )
    .await;
    // Revocation without the client's authentication revokes nothing.
    let revoke = [("token", pat.as_str())];
    let res = post(&app, "/api/auth/v1/revoke", &revoke, None).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = post(
        &app,
        "/api/auth/v1/revoke",
        &revoke,
        Some(("other", OTHER_SECRET)),
    )
    .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    assert_eq!(app.record(&id).await.revoked_at, None);
    // Another client's introspection learns nothing of it.
    let res = post(
        &app,
        "/api/auth/v1/introspect",
        &revoke,
        Some(("rs", RS_SECRET)),
    )
    .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        serde_json::json!({"active": false})
    );
    assert_eq!(app.events_of(&id).await, vec!["created"]);

    // With the client's authentication (Basic or in the body), all of it works.
    let ok = post(&app, token, &refresh, Some(("webapp", WEBAPP_SECRET))).await;
    assert_eq!(ok.status(), 200);
    let in_body = [
        ("grant_type", "refresh_token"),
        ("refresh_token", pat.as_str()),
        ("client_id", "webapp"),
        ("client_secret", WEBAPP_SECRET),
    ];
    assert_eq!(post(&app, token, &in_body, None).await.status(), 200);
    let own = post(
        &app,
        "/api/auth/v1/introspect",
        &revoke,
        Some(("webapp", WEBAPP_SECRET)),
    )
    .await;
    assert_eq!(own.json::<Value>().await.unwrap()["active"], true);
    let res = post(
        &app,
        "/api/auth/v1/revoke",
        &revoke,
        Some(("webapp", WEBAPP_SECRET)),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(app.record(&id).await.revoked_at.is_some());

    // A public client's PAT and an operator's keep working with the PAT alone.
    let issued = app
        .issue(
            "bob",
            "cli",
            &["read"],
            patgate::tokens::RequestedLifetime::Default,
        )
        .await;
    assert_eq!(
        app.record(&crate::support::token_id(&issued))
            .await
            .bound_client_id,
        None
    );
    app.exchange_ok(&issued).await;
}

async fn only_an_admin_approves_the_admin_scope(db: TestDb) {
    let app = TestApp::start(&db).await;
    let client = cli_client(&app, "patgate-cli", LOOPBACK_REDIRECT);
    let approve = |csrf: String| {
        vec![
            ("csrf", csrf),
            ("action", "approve".into()),
            ("token_name", "admin cli".into()),
            ("expiry", "7".into()),
            ("scope", "patgate:admin".into()),
        ]
    };
    for (user, admin) in [("alice", false), ("root", true)] {
        let (browser, csrf) = signed_in(&app, user, admin).await;
        let (url, _, _) = authorize_url(&client, &["read", "patgate:admin"]);
        let consent = location(&browser.get(url.as_str()).await)
            .path()
            .to_string();
        let page = browser.get(&consent).await.text().await.unwrap();
        let offered = page.contains("value=\"patgate:admin\" disabled");
        assert_eq!(offered, !admin, "{user}: shown as not grantable");
        let form = approve(csrf);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = browser.post(&consent, &form).await;
        if admin {
            assert_eq!(res.status(), 302, "an administrator may");
        } else {
            assert_eq!(res.status(), 422);
            assert!(res
                .text()
                .await
                .unwrap()
                .contains("not one this caller may grant"));
        }
    }
    assert!(
        app.all_tokens().await.is_empty(),
        "codes only; nothing issued yet"
    );
    // Without `scope`, a client gets the catalogue but patgate's own API.
    let (browser, _) = signed_in(&app, "carol", false).await;
    let mut url = app.url("/api/auth/v1/authorize");
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "patgate-cli")
        .append_pair("redirect_uri", LOOPBACK_REDIRECT)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    let consent = location(&browser.get(url.as_str()).await)
        .path()
        .to_string();
    let page = browser.get(&consent).await.text().await.unwrap();
    assert!(page.contains("value=\"read\"") && !page.contains("patgate:tokens"));
}
