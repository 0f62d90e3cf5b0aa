//! Metadata, JWKS headers, health and readiness, unknown routes.

use crate::both_backends;
use crate::support::{TestApp, TestDb};
use serde_json::Value;

both_backends!(metadata_health_and_readiness);

async fn metadata_health_and_readiness(db: TestDb) {
    let app = TestApp::start(&db).await;
    let get = |path: &str| app.http.get(app.url(path)).send();

    let res = get("/.well-known/oauth-authorization-server")
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let meta: Value = res.json().await.unwrap();
    let issuer = app.svc.config.issuer_id();
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(
        meta["token_endpoint"],
        format!("{issuer}/api/auth/v1/token")
    );
    assert_eq!(meta["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"refresh_token".into()));

    let res = get("/.well-known/jwks.json").await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = res.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("EC"), Some("ES256"), Some("sig"))
    );
    assert!(key.get("d").is_none(), "no private part is published");

    let res = get("/healthz").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    let res = get("/no/such/page").await.unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "not found");
}
