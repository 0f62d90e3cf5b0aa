//! Holes found from outside, each reproduced as the attacker tried it and
//! now refused, with nothing changed: a read-only token that regenerated a
//! stronger one (1), an administrator's narrow token acting as a full
//! administrator (2), and the compatible API's update that ignored the
//! lifetime rules (6).

use crate::both_backends;
use crate::support::{token_id, TestApp, TestDb};
use patgate::tokens::RequestedLifetime;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    a_read_only_token_cannot_regenerate_a_stronger_one,
    an_admins_read_only_token_is_not_an_admin,
    compat_updates_keep_the_lifetime_rules,
);

/// `method path` with a Bearer token and a JSON body; the status and body.
pub(crate) async fn bearer(
    app: &TestApp,
    method: Method,
    path: &str,
    jwt: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(jwt);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body, challenge)
}

async fn a_read_only_token_cannot_regenerate_a_stronger_one(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (read, strong) = (&["read"], &["read", "write"]);
    let weak = app
        .issue("alice", "weak", read, RequestedLifetime::Default)
        .await;
    let target = app
        .issue("alice", "strong", strong, RequestedLifetime::Default)
        .await;
    let before = app.record(&token_id(&target)).await;
    let rotate = format!("/api/access-tokens/personal/{}/rotate", token_id(&target));
    let grace = Some(json!({"graceSeconds": 3600}));

    // The attack as reported: a JWT scoped `read` rotates a read+write PAT.
    let jwt = app.jwt_for(&weak).await;
    let (status, body, challenge) = bearer(&app, Method::POST, &rotate, &jwt, grace.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let challenge = challenge.expect("RFC 6750 §3.1 challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"patgate:tokens:write patgate:admin\""),
        "{challenge}"
    );
    // Revoke and audit need their scopes as well.
    let audit = format!("/api/access-tokens/personal/{}/audit", token_id(&target));
    assert_eq!(bearer(&app, Method::GET, &audit, &jwt, None).await.0, 403);
    let delete = format!("/api/access-tokens/personal/{}", token_id(&target));
    assert_eq!(
        bearer(&app, Method::DELETE, &delete, &jwt, None).await.0,
        403
    );

    // Allowed to regenerate, but not a token stronger than itself.
    let scopes = &["read", "patgate:tokens:write"];
    let writer = app
        .issue("alice", "writer", scopes, RequestedLifetime::Default)
        .await;
    let jwt = app.jwt_for(&writer).await;
    let (status, body, _) = bearer(&app, Method::POST, &rotate, &jwt, grace).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"write\""));
    // Nor create one.
    let create = json!({"name": "escalated", "scopes": ["read", "write"]});
    let personal = "/api/access-tokens/personal";
    assert_eq!(
        bearer(&app, Method::POST, personal, &jwt, Some(create))
            .await
            .0,
        403
    );

    // Nothing changed: same secret, same record, no event, the old PAT works.
    assert_eq!(app.record(&token_id(&target)).await, before);
    assert_eq!(app.events_of(&token_id(&target)).await, vec!["created"]);
    assert_eq!(app.exchange_ok(&target).await["scope"], "read write");
    assert_eq!(app.all_tokens().await.len(), 3);
}

async fn an_admins_read_only_token_is_not_an_admin(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("admin", "correct horse battery", true).await;
    // `patgate admin token issue --owner admin --scope read`, without --admin.
    let pat = app
        .issue("admin", "narrow", &["read"], RequestedLifetime::Default)
        .await;
    let bobs = app
        .issue("bob", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let jwt = app.jwt_for(&pat).await;
    let before = app.all_tokens().await;

    let service = json!({"name": "deploy", "owner": "ci", "scopes": ["read", "write"]});
    let (status, body, challenge) = bearer(
        &app,
        Method::POST,
        "/api/access-tokens/service",
        &jwt,
        Some(service),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert!(challenge.unwrap().contains("scope=\"patgate:admin\""));

    let compat = json!({"owner": "mallory", "isAdmin": true, "roles": ["admin"]});
    let (status, body, _) = bearer(&app, Method::POST, "/admin/tokens", &jwt, Some(compat)).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (403, Some("admin token required"))
    );

    let list = "/admin/tokens?includeSecretPhc=true&includeRevoked=true";
    let (status, body, _) = bearer(&app, Method::GET, list, &jwt, None).await;
    assert_eq!(status, 403);
    assert!(!body.to_string().contains("secretPhc") && !body.to_string().contains("$argon2"));

    let offboard = "/api/access-tokens/users/bob/revoke-all";
    let (status, body, _) = bearer(&app, Method::POST, offboard, &jwt, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );

    // Nothing was created or revoked; bob's token still works.
    assert_eq!(app.all_tokens().await, before);
    app.exchange_ok(&bobs).await;

    // The same administrator acting with `patgate:admin` may do all of it.
    let full = app
        .issue(
            "admin",
            "full",
            &["patgate:admin"],
            RequestedLifetime::Default,
        )
        .await;
    let jwt = app.jwt_for(&full).await;
    let (status, body, _) = bearer(&app, Method::POST, offboard, &jwt, None).await;
    assert_eq!((status, body["revoked"].as_i64()), (200, Some(1)));
}

/// A JWT of the `@access-tokens` admin token `ops` (`isAdmin`), from `POST /auth/token`.
pub(crate) async fn compat_admin_jwt(app: &TestApp) -> String {
    use crate::compat_api::{admin_pat, jwt};
    jwt(app, &admin_pat(app).await).await
}

async fn compat_updates_keep_the_lifetime_rules(db: TestDb) {
    let app = TestApp::start(&db).await;
    let jwt = compat_admin_jwt(&app).await;
    let new = json!({"owner": "carol", "roles": ["reader"]});
    let (status, body, _) = bearer(&app, Method::POST, "/admin/tokens", &jwt, Some(new)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["record"]["tokenId"].as_str().unwrap().to_string();
    let before = app.record(&id).await;
    let path = format!("/admin/tokens/{id}");
    let ten_years = (app.svc.now() + chrono::Duration::days(3650)).timestamp();
    for (what, patch) in [
        ("ten years out", json!({"expiresAt": ten_years})),
        (
            "no expiry under a limited policy",
            json!({"expiresAt": null}),
        ),
    ] {
        let (status, body, _) = bearer(&app, Method::PATCH, &path, &jwt, Some(patch)).await;
        assert_eq!(status, 400, "{what}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("maximum") || message.contains("without expiry"),
            "{body}"
        );
    }
    // Nor may an `@access-tokens` admin give patgate's admin scope it lacks.
    let escalate = json!({"roles": ["reader", "patgate:admin"], "owner": "root"});
    let (status, body, _) = bearer(&app, Method::PATCH, &path, &jwt, Some(escalate)).await;
    assert_eq!(status, 403, "{body}");
    let issued = json!({"owner": "root", "roles": ["patgate:tokens:write"]});
    let (status, _, _) = bearer(&app, Method::POST, "/admin/tokens", &jwt, Some(issued)).await;
    assert_eq!(status, 403);
    // Revoking with a far expiry would let a restore outlive the policy.
    let revoke = format!("/admin/tokens/{id}/revoke");
    let far = Some(json!({"expiresAt": ten_years}));
    assert_eq!(bearer(&app, Method::PUT, &revoke, &jwt, far).await.0, 400);
    assert_eq!(app.record(&id).await, before);
    assert_eq!(app.events_of(&id).await, vec!["created"]);
    // Within the rules, the update goes through.
    let soon = (app.svc.now() + chrono::Duration::days(10)).timestamp();
    let fine = Some(json!({"expiresAt": soon, "roles": ["reader", "writer"]}));
    assert_eq!(bearer(&app, Method::PATCH, &path, &jwt, fine).await.0, 204);
}
