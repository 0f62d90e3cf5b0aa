//! Resource indicators (RFC 8707): a token limited to resource servers gets
//! JWTs whose `aud` is the one asked for (or its only one), with only the
//! scopes that server accepts; anything else is `invalid_target`.

use crate::both_backends;
use crate::support::{assert_oauth_error, TestApp, TestDb, TOKEN_API_SCOPES};
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use serde_json::{json, Value};

both_backends!(
    limited_tokens_get_jwts_for_their_resources_only,
    tokens_are_limited_through_the_api,
);

const ORDERS: &str = "https://orders.example.com";
const BILLING: &str = "https://billing.example.com/api";

async fn app(db: &TestDb) -> TestApp {
    TestApp::start_with(db, |t| {
        let extra: toml::Table = toml::from_str(&format!(
            "[[resources]]\naudience = \"{ORDERS}\"\ndescription = \"Orders API\"\nscopes = [\"read\"]\n\
             [[resources]]\naudience = \"{BILLING}\"\ndescription = \"Billing API\"\n"
        ))
        .unwrap();
        for (k, v) in extra {
            t.insert(k, v);
        }
    })
    .await
}

async fn limited(app: &TestApp, name: &str, resources: &[&str]) -> String {
    app.issue_request(IssueRequest {
        resources: resources.iter().map(|r| r.to_string()).collect(),
        ..IssueRequest::new(
            TokenKind::Personal,
            "alice",
            name,
            vec!["read".into(), "write".into()],
        )
    })
    .await
}

async fn exchange(app: &TestApp, pat: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", pat)];
    form.extend_from_slice(extra);
    app.http
        .post(app.url("/api/auth/v1/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn claims(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    crate::support::jwt_claims(body["access_token"].as_str().unwrap())
}

async fn limited_tokens_get_jwts_for_their_resources_only(db: TestDb) {
    let app = app(&db).await;
    let orders_only = limited(&app, "orders", &[ORDERS]).await;
    let c = claims(exchange(&app, &orders_only, &[]).await).await;
    assert_eq!(
        (c["aud"].clone(), c["scope"].clone()),
        (json!(ORDERS), json!("read")),
        "its one resource, its scopes"
    );
    let c = claims(exchange(&app, &orders_only, &[("resource", ORDERS)]).await).await;
    assert_eq!(c["aud"], ORDERS);
    let target = |res| assert_oauth_error(res, 400, "invalid_target");
    target(exchange(&app, &orders_only, &[("resource", BILLING)]).await).await;
    target(
        exchange(
            &app,
            &orders_only,
            &[("resource", "https://unknown.example.com")],
        )
        .await,
    )
    .await;
    target(exchange(&app, &orders_only, &[("resource", "not a uri")]).await).await;
    let scope = exchange(
        &app,
        &orders_only,
        &[("resource", ORDERS), ("scope", "write")],
    )
    .await;
    assert_oauth_error(scope, 400, "invalid_scope").await;

    let both = limited(&app, "both", &[ORDERS, BILLING]).await;
    target(exchange(&app, &both, &[]).await).await;
    let c = claims(exchange(&app, &both, &[("resource", BILLING)]).await).await;
    assert_eq!(
        (c["aud"].clone(), c["scope"].clone()),
        (json!(BILLING), json!("read write"))
    );

    let open = limited(&app, "open", &[]).await;
    let c = claims(exchange(&app, &open, &[]).await).await;
    assert_eq!(
        c["aud"],
        app.svc.config.audience(),
        "unlimited: the default audience"
    );
    let c = claims(exchange(&app, &open, &[("resource", ORDERS)]).await).await;
    assert_eq!(
        c["aud"], ORDERS,
        "an unlimited token may ask for any configured resource"
    );
    target(exchange(&app, &open, &[("resource", "https://unknown.example.com")]).await).await;
}

async fn tokens_are_limited_through_the_api(db: TestDb) {
    let app = app(&db).await;
    let manager = app
        .issue(
            "alice",
            "cli",
            &TOKEN_API_SCOPES,
            RequestedLifetime::Default,
        )
        .await;
    let jwt = app.jwt_for(&manager).await;
    let create = |body: Value| {
        app.http
            .post(app.url("/api/access-tokens/personal"))
            .bearer_auth(&jwt)
            .json(&body)
            .send()
    };
    let res = create(json!({"name": "x", "resources": ["https://unknown.example.com"]}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res =
        create(json!({"name": "orders", "scopes": ["patgate:tokens:read"], "resources": [ORDERS]}))
            .await
            .unwrap();
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["token"]["resources"], json!([ORDERS]));
    let limited_jwt = app.exchange_ok(made["rawToken"].as_str().unwrap()).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .http
        .get(app.url("/api/access-tokens/personal"))
        .bearer_auth(&limited_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "a JWT for the orders API is not one for patgate's API"
    );
}
