//! The standard endpoints every OAuth2 library expects: revocation (RFC
//! 7009), introspection (RFC 7662), token exchange (RFC 8693), and the
//! metadata that lists them (RFC 8414, OpenID-style discovery).

use crate::both_backends;
use crate::support::{assert_oauth_error, TestApp, TestDb};
use patgate::secret::hashing::SecretHasher;
use patgate::tokens::RequestedLifetime;
use serde_json::Value;

both_backends!(
    the_holder_of_a_pat_revokes_it,
    resource_servers_introspect_pats_and_access_tokens,
    token_exchange_turns_a_pat_into_an_access_token,
);

const RS_SECRET: &str = "resource-server-secret-0123456789";

async fn with_resource_server(db: &TestDb) -> TestApp {
    let hash = SecretHasher::new(64, 1, 1, 1)
        .unwrap()
        .hash(RS_SECRET, &patgate::clock::OsRandom)
        .unwrap();
    TestApp::start_with(db, |t| {
        let client: toml::Table = toml::from_str(&format!(
            "id = \"orders-api\"\nname = \"Orders API\"\nredirect_uris = [\"https://orders.example/cb\"]\nsecret_hash = '{hash}'"
        ))
        .unwrap();
        t.insert("clients".into(), toml::Value::Array(vec![client.into()]));
    })
    .await
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn the_holder_of_a_pat_revokes_it(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let wrong = format!("{}{}", &pat[..pat.len() - 12], "AAAAAAAAAAAA");
    for token in ["pat_unknown", wrong.as_str(), "not a token"] {
        let res = post(&app, "/api/auth/v1/revoke", &[("token", token)]).await;
        assert_eq!(
            res.status(),
            200,
            "unknown or invalid tokens answer 200 too"
        );
    }
    assert_eq!(
        app.exchange(&pat).await.status(),
        200,
        "only the real secret revokes"
    );
    let res = post(
        &app,
        "/api/auth/v1/revoke",
        &[("token", &pat), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(app.exchange(&pat).await.status(), 400);
    let record = app.record(&crate::support::token_id(&pat)).await;
    assert_eq!(record.revoked_by, Some(format!("token:{}", record.id)));
    assert_eq!(
        post(&app, "/api/auth/v1/revoke", &[("token", &pat)])
            .await
            .status(),
        200,
        "again"
    );
    assert_oauth_error(
        post(&app, "/api/auth/v1/revoke", &[]).await,
        400,
        "invalid_request",
    )
    .await;
    let res = app
        .http
        .post(app.url("/api/auth/v1/revoke"))
        .basic_auth("orders-api", Some("wrong"))
        .form(&[("token", pat.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
}

async fn introspect(app: &TestApp, token: &str, auth: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url("/api/auth/v1/introspect"))
        .form(&[("token", token)]);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn resource_servers_introspect_pats_and_access_tokens(db: TestDb) {
    let app = with_resource_server(&db).await;
    let pat = app
        .issue(
            "alice",
            "laptop",
            &["read", "write"],
            RequestedLifetime::Default,
        )
        .await;
    let jwt = app.exchange_ok(&pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rs = Some(("orders-api", RS_SECRET));

    assert_eq!(
        introspect(&app, &pat, None).await.0,
        400,
        "client_id is required"
    );
    assert_eq!(
        introspect(&app, &pat, Some(("orders-api", "nope"))).await.0,
        401
    );
    let public = app
        .http
        .post(app.url("/api/auth/v1/introspect"))
        .form(&[("token", pat.as_str()), ("client_id", "patgate-cli")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(public, 401, "invalid_client").await;

    let (status, answer) = introspect(&app, &pat, rs).await;
    assert_eq!(status, 200);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh_token");
    assert_eq!(
        (answer["sub"].as_str(), answer["scope"].as_str()),
        (Some("alice"), Some("read write"))
    );
    assert!(answer["exp"].as_i64().unwrap() > answer["iat"].as_i64().unwrap());

    let (_, answer) = introspect(&app, &jwt, rs).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "access_token");
    assert_eq!(answer["sub"], "alice");
    assert_eq!(answer["client_id"], "patgate");
    assert!(answer["jti"].is_string() && answer["exp"].is_i64());

    let wrong = format!("{}{}", &pat[..pat.len() - 12], "AAAAAAAAAAAA");
    for token in [wrong.as_str(), "garbage", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(
            introspect(&app, token, rs).await.1,
            serde_json::json!({"active": false})
        );
    }
    let id = crate::support::token_id(&pat);
    app.revoke(&id, "test").await;
    assert_eq!(
        introspect(&app, &pat, rs).await.1,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &jwt, rs).await.1,
        serde_json::json!({"active": false}),
        "its JWTs end too"
    );
}

async fn token_exchange_turns_a_pat_into_an_access_token(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "ci",
            &["read", "write"],
            RequestedLifetime::Default,
        )
        .await;
    let grant = "urn:ietf:params:oauth:grant-type:token-exchange";
    let rt = "urn:ietf:params:oauth:token-type:refresh_token";
    let res = app
        .token_form(&[
            ("grant_type", grant),
            ("subject_token", &pat),
            ("subject_token_type", rt),
            ("scope", "read"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(
        (body["token_type"].as_str(), body["scope"].as_str()),
        (Some("Bearer"), Some("read"))
    );
    let issuer = app.svc.config.issuer_id();
    let claims = crate::support::verify_jwt(
        body["access_token"].as_str().unwrap(),
        &app.jwks().await,
        issuer,
        issuer,
    )
    .expect("the JWT verifies");
    assert_eq!(claims["sub"], "alice");

    let wrong_type = app
        .token_form(&[
            ("grant_type", grant),
            ("subject_token", &pat),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
        ])
        .await;
    assert_oauth_error(wrong_type, 400, "invalid_request").await;
    let missing = app
        .token_form(&[("grant_type", grant), ("subject_token_type", rt)])
        .await;
    assert_oauth_error(missing, 400, "invalid_request").await;
    let wider = app
        .token_form(&[
            ("grant_type", grant),
            ("subject_token", &pat),
            ("subject_token_type", rt),
            ("scope", "admin"),
        ])
        .await;
    assert_oauth_error(wider, 400, "invalid_scope").await;
    let forged = format!("{}{}", &pat[..pat.len() - 12], "AAAAAAAAAAAA");
    let forged = app
        .token_form(&[
            ("grant_type", grant),
            ("subject_token", &forged),
            ("subject_token_type", rt),
        ])
        .await;
    assert_oauth_error(forged, 400, "invalid_grant").await;

    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let meta: Value = app
            .http
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            meta["revocation_endpoint"],
            app.url("/api/auth/v1/revoke").as_str()
        );
        assert_eq!(
            meta["introspection_endpoint"],
            app.url("/api/auth/v1/introspect").as_str()
        );
        assert!(meta["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from(grant)));
    }
}
