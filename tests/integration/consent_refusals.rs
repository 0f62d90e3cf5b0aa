//! Refusals in the consent flow: bad authorization requests, CSRF, other
//! users, expiry, invalid names and dates, and bad token requests.

use crate::both_backends;
use crate::consent::{approve, begin, code_of, open_as, setup, PASSWORD};
use crate::support::browser::{hidden_value, location, Browser, LOOPBACK_REDIRECT};
use crate::support::{assert_oauth_error, TestDb};
use chrono::Duration;

both_backends!(
    bad_authorize_requests_never_redirect_or_redirect_with_an_error,
    csrf_other_users_and_expiry_are_enforced,
    invalid_names_and_expiry_rerender_and_keep_the_session,
    wrong_verifier_or_redirect_uri_at_the_token_endpoint_is_refused,
);

async fn bad_authorize_requests_never_redirect_or_redirect_with_an_error(db: TestDb) {
    let (app, browser) = setup(&db).await;
    let base = app.url("/api/auth/v1/authorize");
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let request = |pairs: &[(&str, &str)]| {
        let mut url = base.clone();
        url.query_pairs_mut().extend_pairs(pairs);
        url
    };
    let good = [
        ("response_type", "code"),
        ("client_id", "patgate-cli"),
        ("redirect_uri", LOOPBACK_REDIRECT),
        ("state", "s1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "read"),
    ];
    let with = |k: &str, v: &str| -> Vec<(String, String)> {
        good.iter()
            .map(|(a, b)| {
                (
                    a.to_string(),
                    if *a == k {
                        v.to_string()
                    } else {
                        b.to_string()
                    },
                )
            })
            .collect()
    };
    let as_refs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    for (pairs, what) in [
        (with("client_id", "unknown-app"), "unknown client"),
        (
            with("redirect_uri", "https://evil.example/cb"),
            "unregistered redirect URI",
        ),
        (
            with("redirect_uri", "http://localhost:47123/callback"),
            "non-IP loopback",
        ),
    ] {
        let url = request(
            &as_refs(&pairs)
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect::<Vec<_>>(),
        );
        let res = browser.get(url.as_str()).await;
        assert_eq!(res.status(), 400, "{what}");
        assert!(
            res.headers().get("location").is_none(),
            "{what} must never redirect"
        );
        assert!(res.text().await.unwrap().contains("Cannot continue"));
    }
    for (pairs, code) in [
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("code_challenge", "short"), "invalid_request"),
        (with("scope", "read launch-missiles"), "invalid_scope"),
        (with("response_type", "token"), "unsupported_response_type"),
    ] {
        let url = request(
            &pairs
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect::<Vec<_>>(),
        );
        let res = browser.get(url.as_str()).await;
        assert_eq!(res.status(), 302, "{code}");
        let to = location(&res);
        assert!(to.as_str().starts_with(LOOPBACK_REDIRECT));
        let q: Vec<(String, String)> = to.query_pairs().into_owned().collect();
        assert!(
            q.contains(&("error".into(), code.into()))
                && q.contains(&("state".into(), "s1".into())),
            "{q:?}"
        );
    }
    let no_pkce: Vec<(&str, &str)> = good
        .iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .cloned()
        .collect();
    let res = browser.get(request(&no_pkce).as_str()).await;
    assert!(
        location(&res)
            .query()
            .unwrap()
            .contains("error=invalid_request"),
        "PKCE is required"
    );
}

async fn csrf_other_users_and_expiry_are_enforced(db: TestDb) {
    let (app, browser) = setup(&db).await;
    let flow = begin(&browser, &app, &["read"]).await;
    let csrf = open_as(&browser, &flow, "alice").await;
    for bad in ["", "wrong-token"] {
        let res = browser
            .post(
                &flow.consent_path,
                &[
                    ("csrf", bad),
                    ("action", "approve"),
                    ("token_name", "x"),
                    ("expiry", "7"),
                    ("scope", "read"),
                ],
            )
            .await;
        assert_eq!(res.status(), 403, "CSRF token {bad:?}");
    }
    // Another user can neither see nor approve alice's request.
    let other = Browser::new(&app);
    let res = other.get(&flow.consent_path).await;
    assert_eq!(location(&res).path(), "/login");
    assert_eq!(
        other
            .sign_in("mallory", PASSWORD, &flow.consent_path)
            .await
            .status(),
        303
    );
    let (status, html, other_csrf) = other.consent_page(&flow.consent_path).await;
    assert_eq!(status, 403);
    assert!(html.contains("another user") && other_csrf.is_none());
    let home = other.get("/").await.text().await.unwrap();
    let mallory_csrf = hidden_value(&home, "csrf").unwrap();
    let res = other
        .post(
            &flow.consent_path,
            &[
                ("csrf", &mallory_csrf),
                ("action", "approve"),
                ("token_name", "x"),
                ("expiry", "7"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    // Alice's session is still usable after all that...
    let res = approve(&browser, &flow, &csrf, "still mine", &["read"], "7").await;
    code_of(&res, &flow.state);
    // ...and a session left for 10 minutes expires.
    let late = begin(&browser, &app, &["read"]).await;
    app.clock.advance(Duration::minutes(11));
    assert_eq!(browser.get(&late.consent_path).await.status(), 410);
    assert_eq!(
        browser.get("/oauth2/authorize/doesnotexist").await.status(),
        404
    );
}

async fn invalid_names_and_expiry_rerender_and_keep_the_session(db: TestDb) {
    let (app, browser) = setup(&db).await;
    app.issue(
        "alice",
        "taken",
        &[],
        patgate::tokens::RequestedLifetime::Default,
    )
    .await;
    let flow = begin(&browser, &app, &["read", "write"]).await;
    let csrf = open_as(&browser, &flow, "alice").await;
    for (name, scopes, expiry, message) in [
        ("taken", vec!["read"], "30", "already have an active token"),
        ("", vec!["read"], "30", "token name"),
        (&"n".repeat(101), vec!["read"], "30", "token name"),
        ("ok", vec!["read", "admin"], "30", "only remove scopes"),
        ("ok", vec!["read"], "never", "not allowed"),
        ("ok", vec!["read"], "45", "choose an expiry"),
    ] {
        let res = approve(&browser, &flow, &csrf, name, &scopes, expiry).await;
        assert_eq!(res.status(), 422, "{name:?} {expiry}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message:?} not in the page");
    }
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("token_name", "dated"),
        ("expiry", "custom"),
        ("scope", "read"),
    ];
    form.push(("custom_date", "2001-01-01"));
    assert_eq!(
        browser.post(&flow.consent_path, &form).await.status(),
        422,
        "a past date"
    );
    let too_late = (app.svc.now() + Duration::days(400))
        .format("%Y-%m-%d")
        .to_string();
    form.pop();
    form.push(("custom_date", &too_late));
    assert_eq!(
        browser.post(&flow.consent_path, &form).await.status(),
        422,
        "beyond the maximum"
    );
    let fine = (app.svc.now() + Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    form.pop();
    form.push(("custom_date", &fine));
    code_of(&browser.post(&flow.consent_path, &form).await, &flow.state);
}

async fn wrong_verifier_or_redirect_uri_at_the_token_endpoint_is_refused(db: TestDb) {
    let (app, browser) = setup(&db).await;
    let flow = begin(&browser, &app, &["read"]).await;
    let csrf = open_as(&browser, &flow, "alice").await;
    let code = code_of(
        &approve(&browser, &flow, &csrf, "cli", &["read"], "30").await,
        &flow.state,
    );
    let verifier = flow.verifier.secret().clone();
    let wrong_verifier = "A".repeat(43);
    let attempt = |verifier: &str, redirect: &str, client: &str| {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", client),
            ("code_verifier", verifier),
        ];
        app.http
            .post(app.url("/api/auth/v1/token"))
            .form(&form)
            .send()
    };
    assert_oauth_error(
        attempt(&wrong_verifier, LOOPBACK_REDIRECT, "patgate-cli")
            .await
            .unwrap(),
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        attempt(&verifier, "http://127.0.0.1:47124/callback", "patgate-cli")
            .await
            .unwrap(),
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        attempt(&verifier, LOOPBACK_REDIRECT, "no-such-client")
            .await
            .unwrap(),
        401,
        "invalid_client",
    )
    .await;
    // The refused attempts did not burn the code; then it expires after 60 s.
    app.clock.advance(Duration::seconds(61));
    assert_oauth_error(
        attempt(&verifier, LOOPBACK_REDIRECT, "patgate-cli")
            .await
            .unwrap(),
        400,
        "invalid_grant",
    )
    .await;
}
