//! `/settings/personal-tokens`: generate through the consent flow with the
//! built-in web client and see the token once; revoke and regenerate behind
//! a confirmation and the session's CSRF token; sign-in required.

use crate::both_backends;
use crate::support::browser::{hidden_value, location, shown_secret, signed_in, Browser};
use crate::support::{token_id, TestApp, TestDb};
use chrono::Duration;
use patgate::tokens::RequestedLifetime;

both_backends!(
    generate_runs_the_consent_flow_and_shows_the_token_once,
    revoke_asks_first_and_needs_the_csrf_token,
    regenerate_keeps_the_old_secret_for_the_chosen_grace,
    the_pages_need_a_signed_in_owner,
);

async fn person(app: &TestApp, user: &str) -> Browser {
    signed_in(app, user, false).await.0
}

async fn generate_runs_the_consent_flow_and_shows_the_token_once(db: TestDb) {
    let app = TestApp::start(&db).await;
    let browser = person(&app, "alice").await;
    let list = browser.get("/settings/personal-tokens").await;
    assert_eq!(list.status(), 200);
    assert!(list
        .text()
        .await
        .unwrap()
        .contains("no personal access tokens yet"));

    let start = browser.get("/settings/personal-tokens/new").await;
    assert_eq!(start.status(), 303);
    let authorize = location(&start);
    assert_eq!(authorize.path(), "/api/auth/v1/authorize");
    let params: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], "patgate-web");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["redirect_uri"],
        app.url("/settings/personal-tokens/callback").as_str()
    );

    let consent = location(&browser.get(authorize.as_str()).await);
    let page = browser.get(consent.as_str()).await.text().await.unwrap();
    assert!(
        page.contains("patgate (this site)"),
        "the consent screen names the web client"
    );
    let csrf = hidden_value(&page, "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("token_name", "laptop"),
        ("scope", "read"),
        ("expiry", "30"),
        ("action", "approve"),
    ];
    let back = location(&browser.post(consent.as_str(), &form).await);
    assert_eq!(back.path(), "/settings/personal-tokens/callback");

    let shown = browser.get(back.as_str()).await;
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["cache-control"], "no-store");
    let html = shown.text().await.unwrap();
    assert!(html.contains("never show it again"));
    let pat = shown_secret(&html);
    assert!(pat.starts_with("pat_"), "{pat}");
    assert_eq!(
        app.exchange(&pat).await.status(),
        200,
        "the shown token works"
    );

    let again = browser.get(back.as_str()).await;
    assert_eq!(again.status(), 400, "shown once");
    let again = again.text().await.unwrap();
    assert!(again.contains("shown only once") && !again.contains(&pat));
    assert!(
        again.contains("<nav class=\"links\">") && again.contains("action=\"/logout\""),
        "the page after a reload has the navigation bar: {again}"
    );
    assert_eq!(
        app.exchange(&pat).await.status(),
        200,
        "a reload does not replay the code"
    );

    let record = app.record(&token_id(&pat)).await;
    assert_eq!(record.name, "laptop");
    assert_eq!(record.scopes, vec!["read"]);
    assert_eq!(record.client_id.as_deref(), Some("patgate-web"));
    let list = browser
        .get("/settings/personal-tokens")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("laptop") && list.contains("patgate-web") && list.contains("status active")
    );
    assert!(!list.contains(&pat), "the list never shows secrets");

    let cancelled = browser
        .get("/settings/personal-tokens/callback?error=access_denied&state=x")
        .await;
    assert_eq!(location(&cancelled).query(), Some("done=cancelled"));
}

async fn revoke_asks_first_and_needs_the_csrf_token(db: TestDb) {
    let app = TestApp::start(&db).await;
    let alice = person(&app, "alice").await;
    let bob = person(&app, "bob").await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let id = token_id(&pat);
    let path = format!("/settings/personal-tokens/{id}/revoke");

    assert_eq!(
        bob.get(&path).await.status(),
        404,
        "another user's token is not found"
    );
    let confirm = alice.get(&path).await;
    assert_eq!(confirm.status(), 200);
    let html = confirm.text().await.unwrap();
    assert!(html.contains("Revoke “ci”?"));
    let csrf = hidden_value(&html, "csrf").unwrap();

    assert_eq!(alice.post(&path, &[("csrf", "forged")]).await.status(), 403);
    assert_eq!(
        app.exchange(&pat).await.status(),
        200,
        "not revoked without CSRF"
    );
    let bob_csrf = hidden_value(
        &bob.get("/settings/personal-tokens")
            .await
            .text()
            .await
            .unwrap(),
        "csrf",
    )
    .unwrap();
    assert_eq!(bob.post(&path, &[("csrf", &bob_csrf)]).await.status(), 404);

    let done = alice.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done).query(), Some("done=revoked"));
    assert_eq!(app.exchange(&pat).await.status(), 400);
    let record = app.record(&id).await;
    assert_eq!(record.revoked_by.as_deref(), Some("alice"));
    let list = alice
        .get("/settings/personal-tokens?done=revoked")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Token revoked") && list.contains("status revoked"));
}

async fn regenerate_keeps_the_old_secret_for_the_chosen_grace(db: TestDb) {
    let app = TestApp::start(&db).await;
    let alice = person(&app, "alice").await;
    let old = app
        .issue("alice", "deploy", &["read"], RequestedLifetime::Default)
        .await;
    let path = format!("/settings/personal-tokens/{}/regenerate", token_id(&old));
    let html = alice.get(&path).await.text().await.unwrap();
    assert!(html.contains("7 days"), "grace choices up to 7 days");
    let csrf = hidden_value(&html, "csrf").unwrap();
    assert_eq!(
        alice
            .post(&path, &[("csrf", &csrf), ("grace", "999")])
            .await
            .status(),
        400
    );

    let shown = alice
        .post(&path, &[("csrf", &csrf), ("grace", "3600")])
        .await;
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    assert!(html.contains("keeps working for 1 hour"));
    let new = shown_secret(&html);
    assert_eq!(token_id(&new), token_id(&old), "same token, new secret");
    assert_ne!(new, old);
    assert_eq!(
        app.exchange(&old).await.status(),
        200,
        "old secret within the grace"
    );
    app.clock.advance(Duration::minutes(61));
    assert_eq!(
        app.exchange(&old).await.status(),
        400,
        "old secret after the grace"
    );
    assert_eq!(app.exchange(&new).await.status(), 200);

    let html = alice
        .post(&path, &[("csrf", &csrf), ("grace", "0")])
        .await
        .text()
        .await
        .unwrap();
    let newest = shown_secret(&html);
    assert_eq!(
        app.exchange(&new).await.status(),
        400,
        "no grace: the old secret stops at once"
    );
    assert_eq!(app.exchange(&newest).await.status(), 200);
}

async fn the_pages_need_a_signed_in_owner(db: TestDb) {
    let app = TestApp::start(&db).await;
    let anonymous = Browser::new(&app);
    let res = anonymous.get("/settings/personal-tokens").await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert_eq!(to.path(), "/login");
    assert_eq!(
        to.query_pairs().next().unwrap().1,
        "/settings/personal-tokens"
    );
    let res = anonymous
        .post("/settings/personal-tokens/abc/revoke", &[("csrf", "x")])
        .await;
    assert_eq!(res.status(), 401);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    // Permissions come from [access]: with nothing for everyone, the page is refused.
    let locked = TestApp::start_with(&db, |t| {
        let mut access = toml::Table::new();
        access.insert("everyone".into(), toml::Value::Array(vec![]));
        t.insert("access".into(), access.into());
    })
    .await;
    let carol = person(&locked, "carol").await;
    let res = carol.get("/settings/personal-tokens").await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("access-tokens:user:read"));
}
