//! Sign-in through an upstream OpenID Connect provider (a real one, started
//! by the test): the happy path through consent to a PAT, and every way a
//! sign-in must fail without signing anyone in; groups mapped to roles;
//! local accounts turned off; key rotation at the provider.

use crate::both_backends;
use crate::support::browser::signed_in;
use crate::support::browser::{
    authorize_url, cli_client, hidden_value, location, Browser, LOOPBACK_REDIRECT,
};
use crate::support::oidc::{Spoil, TestProvider};
use crate::support::{TestApp, TestDb};
use oauth2::{AuthorizationCode, TokenResponse};
use serde_json::{json, Value};

both_backends!(
    sign_in_then_consent_then_pat,
    a_wrong_or_replayed_state_signs_nobody_in,
    spoiled_id_tokens_are_refused,
    a_new_provider_key_is_fetched_on_an_unknown_kid,
    groups_map_to_roles_at_every_sign_in,
    local_accounts_can_be_turned_off,
    people_outside_the_allowed_groups_are_disabled,
    admins_see_and_disable_sso_users,
);

pub(crate) async fn app_with(db: &TestDb, provider: &TestProvider, extra: &str) -> TestApp {
    let entry = provider.config("idp");
    let extra: toml::Table = toml::from_str(extra).unwrap();
    TestApp::start_with(db, move |t| {
        let mut sso = toml::Table::new();
        let mut entry = entry;
        if let Some(toml::Value::Table(p)) = extra.get("provider") {
            entry.extend(p.clone());
        }
        sso.insert("providers".into(), toml::Value::Array(vec![entry.into()]));
        if let Some(toml::Value::Table(s)) = extra.get("sso") {
            sso.extend(s.clone());
        }
        t.insert("sso".into(), sso.into());
        for key in ["access", "limits"] {
            if let Some(value) = extra.get(key) {
                t.insert(key.into(), value.clone());
            }
        }
    })
    .await
}

/// Follows the SSO round trip from `/login/sso/idp?next=…`; the callback's answer.
async fn sso_round_trip(browser: &Browser, next: &str) -> reqwest::Response {
    let mut start = url::Url::parse("http://x/login/sso/idp").unwrap();
    start.query_pairs_mut().append_pair("next", next);
    let to_provider = browser
        .get(&format!("{}?{}", start.path(), start.query().unwrap()))
        .await;
    assert_eq!(to_provider.status(), 303);
    let at_provider = location(&to_provider);
    let q: std::collections::HashMap<_, _> = at_provider.query_pairs().into_owned().collect();
    assert!(
        q.contains_key("nonce") && q.contains_key("state") && q["code_challenge_method"] == "S256"
    );
    let back = location(&browser.get(at_provider.as_str()).await);
    assert_eq!(back.path(), "/login/sso/idp/callback");
    browser.get(back.as_str()).await
}

pub(crate) async fn signed_in_as(browser: &Browser) -> Option<String> {
    let home = browser.get("/").await;
    if home.status() != 200 {
        return None;
    }
    let html = home.text().await.unwrap();
    let start = html.find("<strong>")? + 8;
    Some(html[start..].split('<').next()?.to_string())
}

async fn sign_in_then_consent_then_pat(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(&db, &provider, "").await;
    provider.next_person(
        "u-123",
        json!({"email": "alice@example.com", "name": "Alice A.", "groups": ["dev", "ops"]}),
    );
    let client = cli_client(&app, "patgate-cli", LOOPBACK_REDIRECT);
    let (url, state, verifier) = authorize_url(&client, &["read"]);
    let browser = Browser::new(&app);
    let consent = location(&browser.get(url.as_str()).await);
    let to_login = location(&browser.get(consent.as_str()).await);
    assert_eq!(to_login.path(), "/login");
    let login = browser.get(to_login.as_str()).await.text().await.unwrap();
    assert!(login.contains("Sign in with Test IdP") && login.contains("/login/sso/idp?next="));

    let done = sso_round_trip(&browser, consent.path()).await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        location(&done).path(),
        consent.path(),
        "back to the page that asked"
    );
    let page = browser.get(consent.as_str()).await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("token_name", "sso laptop"),
        ("scope", "read"),
        ("expiry", "30"),
        ("action", "approve"),
    ];
    let to_client = location(&browser.post(consent.as_str(), &form).await);
    let code = to_client
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        to_client
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1,
        *state.secret()
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let pat = token.refresh_token().unwrap().secret().clone();
    assert_eq!(
        app.record(&crate::support::token_id(&pat)).await.owner,
        "idp:u-123"
    );

    let user = app
        .blocking(|s| patgate::store::accounts::find_user(&mut s.conn().unwrap(), "idp:u-123"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.provider.as_deref(), user.email.as_deref()),
        (Some("idp"), Some("alice@example.com"))
    );
    assert_eq!(
        (user.display_name.as_deref(), user.groups.as_str()),
        (Some("Alice A."), "dev ops")
    );
    assert!(user.last_login_at.is_some() && user.password_hash.is_none());
}

async fn a_wrong_or_replayed_state_signs_nobody_in(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(&db, &provider, "").await;
    provider.next_person("u-1", json!({}));
    let browser = Browser::new(&app);
    let res = browser
        .get("/login/sso/idp/callback?code=abc&state=forged")
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("unknown, expired, already used"));
    assert_eq!(signed_in_as(&browser).await, None);

    let to_provider = location(&browser.get("/login/sso/idp?next=/").await);
    let back = location(&browser.get(to_provider.as_str()).await);
    assert_eq!(
        browser.get(back.as_str()).await.status(),
        303,
        "the first use signs in"
    );
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("idp:u-1"));
    assert_eq!(
        browser.get(back.as_str()).await.status(),
        400,
        "a replay does not, even from the same browser"
    );
    let refused = browser
        .get("/login/sso/idp/callback?error=access_denied&state=x")
        .await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("access_denied"));
    assert_eq!(browser.get("/login/sso/nope").await.status(), 404);
}

async fn spoiled_id_tokens_are_refused(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(&db, &provider, "").await;
    provider.next_person("u-1", json!({}));
    for (how, says) in [
        (Spoil::Signature, "bad signature"),
        (Spoil::Audience, "(aud)"),
        (Spoil::Expired, "expired"),
        (Spoil::Nonce, "wrong nonce"),
    ] {
        provider.spoil(how);
        let browser = Browser::new(&app);
        let res = sso_round_trip(&browser, "/").await;
        assert_eq!(res.status(), 400, "{how:?}");
        let text = res.text().await.unwrap();
        assert!(text.contains(says), "{how:?}: {text}");
        assert_eq!(signed_in_as(&browser).await, None, "{how:?}");
    }
    provider.spoil(Spoil::Nothing);
    let browser = Browser::new(&app);
    assert_eq!(sso_round_trip(&browser, "/").await.status(), 303);
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("idp:u-1"));
}

async fn a_new_provider_key_is_fetched_on_an_unknown_kid(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(&db, &provider, "").await;
    provider.next_person("u-1", json!({}));
    assert_eq!(
        sso_round_trip(&Browser::new(&app), "/").await.status(),
        303,
        "keys cached"
    );
    provider.rotate_key();
    let browser = Browser::new(&app);
    assert_eq!(
        sso_round_trip(&browser, "/").await.status(),
        303,
        "the new kid is fetched"
    );
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("idp:u-1"));
}

async fn groups_map_to_roles_at_every_sign_in(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(
        &db,
        &provider,
        "[access.groups]\n\"platform-admins\" = [\"admin\"]\n",
    )
    .await;
    provider.next_person("boss", json!({"groups": ["platform-admins"]}));
    let browser = Browser::new(&app);
    sso_round_trip(&browser, "/").await;
    assert_eq!(
        browser.get("/admin/access-tokens").await.status(),
        200,
        "the group brings the admin role"
    );
    provider.next_person("boss", json!({"groups": ["dev"]}));
    let again = Browser::new(&app);
    sso_round_trip(&again, "/").await;
    assert_eq!(
        again.get("/admin/access-tokens").await.status(),
        403,
        "re-evaluated at the next sign-in"
    );
}

async fn local_accounts_can_be_turned_off(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(&db, &provider, "[sso]\nlocal_accounts = false\n").await;
    app.add_user("alice", "correct horse battery", false).await;
    let browser = Browser::new(&app);
    let page = browser.get("/login").await.text().await.unwrap();
    assert!(page.contains("Sign in with Test IdP") && !page.contains("name=\"password\""));
    let form = [
        ("username", "alice"),
        ("password", "correct horse battery"),
        ("csrf", "x"),
        ("next", "/"),
    ];
    let res = browser.post("/login", &form).await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Local accounts are turned off"));
    assert_eq!(signed_in_as(&browser).await, None);
}

async fn people_outside_the_allowed_groups_are_disabled(db: TestDb) {
    let provider = TestProvider::start();
    let extra =
        "[provider]\nallowed_groups = [\"staff\"]\n[sso]\nrevoke_tokens_on_disable = true\n";
    let app = app_with(&db, &provider, extra).await;
    provider.next_person("leaver", json!({"groups": ["staff"]}));
    let browser = Browser::new(&app);
    assert_eq!(sso_round_trip(&browser, "/").await.status(), 303);
    let pat = app
        .issue(
            "idp:leaver",
            "laptop",
            &["read"],
            patgate::tokens::RequestedLifetime::Default,
        )
        .await;
    provider.next_person("leaver", json!({"groups": ["alumni"]}));
    let later = Browser::new(&app);
    let res = sso_round_trip(&later, "/").await;
    assert_eq!(res.status(), 403);
    assert_eq!(signed_in_as(&later).await, None);
    assert_eq!(signed_in_as(&browser).await, None, "their sessions end");
    assert_eq!(
        app.exchange(&pat).await.status(),
        400,
        "and their tokens are revoked"
    );
    provider.next_person("leaver", json!({"groups": ["staff"]}));
    assert_eq!(
        sso_round_trip(&Browser::new(&app), "/").await.status(),
        403,
        "disabled stays disabled"
    );
    let events: Vec<(String, String, Value)> = app
        .account_events()
        .await
        .into_iter()
        .map(|e| (e.event, e.actor.unwrap_or_default(), e.details))
        .collect();
    let expected = [
        (
            "signed_in",
            "idp:leaver",
            json!({"method": "sso", "provider": "idp"}),
        ),
        ("user_disabled", "patgate:sso", json!({})),
        (
            "sign_in_failed",
            "",
            json!({"reason": "not_in_allowed_group", "user": "idp:leaver"}),
        ),
        (
            "sign_in_failed",
            "",
            json!({"reason": "disabled", "user": "idp:leaver"}),
        ),
    ];
    for (event, actor, details) in expected {
        assert!(
            events.contains(&(event.into(), actor.into(), details.clone())),
            "{event} {details} in {events:?}"
        );
    }
}

async fn admins_see_and_disable_sso_users(db: TestDb) {
    let provider = TestProvider::start();
    let app = app_with(&db, &provider, "").await;
    provider.next_person(
        "u-9",
        json!({"email": "dana@example.com", "name": "Dana", "groups": ["dev"]}),
    );
    let dana = Browser::new(&app);
    assert_eq!(sso_round_trip(&dana, "/").await.status(), 303);
    let (admin, csrf) = signed_in(&app, "root", true).await;
    let page = admin
        .get("/admin/users?q=DANA@")
        .await
        .text()
        .await
        .unwrap();
    for shown in [
        "idp:u-9",
        ">idp<",
        "dana@example.com",
        "Dana",
        ">dev<",
        "status active",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    assert!(!page.contains("data-subject=\"root\""), "filtered");
    let confirm = admin
        .get("/admin/users/disable?user=idp:u-9")
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Disable idp:u-9?"));
    let done = admin
        .post(
            "/admin/users/disable",
            &[("csrf", &csrf), ("user", "idp:u-9")],
        )
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(signed_in_as(&dana).await, None, "the session ended");
    assert_eq!(
        sso_round_trip(&Browser::new(&app), "/").await.status(),
        403,
        "no more sign-ins"
    );
    assert!(admin
        .get("/admin/users?q=u-9")
        .await
        .text()
        .await
        .unwrap()
        .contains(">disabled<"));
    admin
        .post(
            "/admin/users/enable",
            &[("csrf", &csrf), ("user", "idp:u-9")],
        )
        .await;
    assert_eq!(
        sso_round_trip(&Browser::new(&app), "/").await.status(),
        303,
        "enabled again"
    );
    let (bob, _) = signed_in(&app, "bob", false).await;
    assert_eq!(bob.get("/admin/users").await.status(), 403);
}
