//! The `@access-tokens/express`-compatible API, contract by contract: the
//! token endpoint's three ways to present a PAT, the JWT claims, the admin
//! endpoints' JSON, status order (401, 403, 400), and a token registered
//! with a scrypt hash made the way `@access-tokens/core` makes it.

use crate::both_backends;
use crate::support::{TestApp, TestDb};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    the_token_endpoint_takes_the_pat_three_ways,
    admin_calls_refuse_in_order_and_answer_json,
    records_are_issued_listed_and_paged,
    a_scrypt_registered_token_exchanges,
    updates_revocations_and_restores,
);

pub(crate) async fn admin_pat(app: &TestApp) -> String {
    app.issue_request(IssueRequest {
        is_admin: true,
        ..IssueRequest::new(TokenKind::Service, "ops", "access-tokens-admin", vec![])
    })
    .await
}

/// `POST /auth/token` with `pat` as `client_secret`.
pub(crate) async fn exchange(app: &TestApp, pat: &str) -> reqwest::Response {
    app.http
        .post(app.url("/auth/token"))
        .form(&[("client_secret", pat)])
        .send()
        .await
        .unwrap()
}

pub(crate) async fn jwt(app: &TestApp, pat: &str) -> String {
    let res = exchange(app, pat).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    jwt: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path));
    if let Some(j) = jwt {
        req = req.bearer_auth(j);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status == 204 {
        return (status, Value::Null);
    }
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{status}"
    );
    (status, res.json().await.unwrap())
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn the_token_endpoint_takes_the_pat_three_ways(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "cli",
            &["read", "write"],
            RequestedLifetime::Default,
        )
        .await;
    let url = app.url("/auth/token");
    let form = app
        .http
        .post(url.clone())
        .form(&[("client_secret", pat.as_str()), ("state", "xyz")]);
    let basic = app.http.post(url.clone()).header(
        "authorization",
        format!("Basic {}", STANDARD.encode(format!("anything:{pat}"))),
    );
    let bearer = app
        .http
        .post(url.clone())
        .bearer_auth(&pat)
        .json(&json!({"grant_type": "client_credentials"}));
    for (i, req) in [form, basic, bearer].into_iter().enumerate() {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "way {i}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        assert_eq!(body.get("state").is_some(), i == 0, "state only when sent");
        if i == 0 {
            assert_eq!(body["state"], "xyz");
        }
        let c = claims(body["access_token"].as_str().unwrap());
        assert_eq!(c["sub"], crate::support::token_id(&pat));
        assert_eq!(
            (c["owner"].as_str(), c["admin"].as_bool()),
            (Some("alice"), Some(false))
        );
        assert_eq!(c["roles"], json!(["read", "write"]));
        assert_eq!(c["iss"], app.svc.config.issuer_id());
        assert!(c["iat"].is_i64() && c["exp"].is_i64() && c["jti"].is_string());
    }
    let (status, body) = call(&app, Method::POST, "/auth/token", None, None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Missing credentials"));
    let other = app
        .http
        .post(url.clone())
        .form(&[("client_secret", pat.as_str()), ("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 400);
    let wrong = format!("{}{}", &pat[..pat.len() - 12], "AAAAAAAAAAAA");
    let res = app
        .http
        .post(url.clone())
        .form(&[("client_secret", wrong.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
}

async fn admin_calls_refuse_in_order_and_answer_json(db: TestDb) {
    let app = TestApp::start(&db).await;
    let user_pat = app
        .issue("alice", "cli", &["read"], RequestedLifetime::Default)
        .await;
    let user_jwt = jwt(&app, &user_pat).await;
    let admin_jwt = jwt(&app, &admin_pat(&app).await).await;
    let bad_body = Some(json!({"owner": 7, "surprise": true}));
    assert_eq!(
        call(&app, Method::POST, "/admin/tokens", None, bad_body.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/admin/tokens",
            Some("not-a-jwt"),
            bad_body.clone()
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/admin/tokens",
            Some(&user_jwt),
            bad_body.clone()
        )
        .await
        .0,
        403
    );
    let (status, body) = call(
        &app,
        Method::POST,
        "/admin/tokens",
        Some(&admin_jwt),
        bad_body,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid request body"));
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/admin/tokens?limit=0",
            Some(&admin_jwt),
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &app,
            Method::PUT,
            "/admin/tokens/AAAAAAAAAAAAAAAAAAAAA/restore",
            Some(&admin_jwt),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            "/admin/tokens/AAAAAAAAAAAAAAAAAAAAA",
            Some(&admin_jwt),
            Some(json!({"isAdmin": true}))
        )
        .await
        .0,
        404
    );
    // patgate's own access token works too, for an admin acting with
    // `patgate:admin`; an admin's narrower token does not (403).
    app.add_user("root", "correct horse battery", true).await;
    let narrow = app
        .issue("root", "narrow", &["read"], RequestedLifetime::Default)
        .await;
    let narrow = app.exchange_ok(&narrow).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(&app, Method::GET, "/admin/tokens", Some(&narrow), None)
            .await
            .0,
        403
    );
    let root_pat = app
        .issue(
            "root",
            "cli",
            &["read", "patgate:admin"],
            RequestedLifetime::Default,
        )
        .await;
    let native = app.exchange_ok(&root_pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(&app, Method::GET, "/admin/tokens", Some(&native), None)
            .await
            .0,
        200
    );
}

async fn records_are_issued_listed_and_paged(db: TestDb) {
    let app = TestApp::start(&db).await;
    let admin = jwt(&app, &admin_pat(&app).await).await;
    let expires = chrono::Utc::now().timestamp() + 86_400;
    let (status, body) = call(&app, Method::POST, "/admin/tokens", Some(&admin),
        Some(json!({"owner": "user@example.com", "isAdmin": false, "roles": ["reader"], "expiresAt": expires}))).await;
    assert_eq!(status, 201);
    let record = &body["record"];
    let id = record["tokenId"].as_str().unwrap().to_string();
    assert!(id.len() == 21 && id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(record["owner"], "user@example.com");
    assert_eq!(
        (record["isAdmin"].as_bool(), record["roles"].clone()),
        (Some(false), json!(["reader"]))
    );
    assert_eq!(record["expiresAt"], expires);
    assert!(
        record["createdAt"].is_i64()
            && record.get("secretPhc").is_none()
            && record.get("revokedAt").is_none()
    );
    let token = body["token"].as_str().unwrap();
    assert_eq!(claims(&jwt(&app, token).await)["roles"], json!(["reader"]));
    let (status, _) = call(
        &app,
        Method::POST,
        "/admin/tokens",
        Some(&admin),
        Some(json!({"owner": "x", "tokenId": id})),
    )
    .await;
    assert_eq!(status, 409, "duplicate id");
    let chosen = "ChosenId0123456789abc";
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/admin/tokens",
            Some(&admin),
            Some(json!({"owner": "bob", "tokenId": chosen}))
        )
        .await
        .0,
        201
    );
    for i in 0..3 {
        call(
            &app,
            Method::POST,
            "/admin/tokens",
            Some(&admin),
            Some(json!({"owner": format!("svc{i}"), "roles": ["writer"]})),
        )
        .await;
    }

    let (_, all) = call(&app, Method::GET, "/admin/tokens", Some(&admin), None).await;
    let ids: Vec<String> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tokenId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 6, "five issued plus the admin's own");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "by ascending id");
    let (_, first) = call(
        &app,
        Method::GET,
        "/admin/tokens?limit=4",
        Some(&admin),
        None,
    )
    .await;
    let last = first["records"][3]["tokenId"].as_str().unwrap().to_string();
    let (_, rest) = call(
        &app,
        Method::GET,
        &format!("/admin/tokens?limit=4&afterTokenId={last}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        first["records"].as_array().unwrap().len() + rest["records"].as_array().unwrap().len(),
        6
    );
    let (_, writers) = call(
        &app,
        Method::GET,
        "/admin/tokens?hasRole=writer&includeSecretPhc=true",
        Some(&admin),
        None,
    )
    .await;
    let writers = writers["records"].as_array().unwrap();
    assert_eq!(writers.len(), 3);
    assert!(writers[0]["secretPhc"]
        .as_str()
        .unwrap()
        .starts_with("$argon2id$"));

    assert_eq!(
        call(
            &app,
            Method::PUT,
            &format!("/admin/tokens/{chosen}/revoke"),
            Some(&admin),
            None
        )
        .await
        .0,
        204
    );
    let (_, active) = call(&app, Method::GET, "/admin/tokens", Some(&admin), None).await;
    assert_eq!(
        active["records"].as_array().unwrap().len(),
        5,
        "revoked ones are left out"
    );
    let (_, with_revoked) = call(
        &app,
        Method::GET,
        "/admin/tokens?includeRevoked=true",
        Some(&admin),
        None,
    )
    .await;
    let revoked = with_revoked["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tokenId"] == chosen)
        .unwrap()
        .clone();
    assert!(revoked["revokedAt"].is_i64());

    let (status, batch) = call(
        &app,
        Method::POST,
        "/admin/tokens/batch",
        Some(&admin),
        Some(json!({"tokenIds": [id, "NoSuchToken0000000000"]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(batch["found"][0]["tokenId"], id);
    assert_eq!(batch["notFound"], json!(["NoSuchToken0000000000"]));
}

/// The ids `GET /admin/tokens?hasRole=role` lists.
async fn holders(app: &TestApp, admin: &str, role: &str) -> Vec<String> {
    let path = format!("/admin/tokens?hasRole={role}");
    let (status, body) = call(app, Method::GET, &path, Some(admin), None).await;
    assert_eq!(status, 200);
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tokenId"].as_str().unwrap().to_string())
        .collect()
}

/// A token and PHC string made as `@access-tokens/core` makes them: 32
/// random bytes, base64 in the token, scrypt of the bytes in PHC form.
fn foreign_token(id: &str) -> (String, String) {
    use scrypt::password_hash::CustomizedPasswordHasher;
    let secret: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let salt = STANDARD_NO_PAD.encode([7u8; 16]);
    let phc = scrypt::Scrypt::new()
        .hash_password_with_params(
            &secret,
            salt.as_bytes(),
            scrypt::Params::new(10, 8, 1).unwrap(),
        )
        .unwrap()
        .to_string();
    (format!("pat_{id}.{}", STANDARD.encode(&secret)), phc)
}

async fn a_scrypt_registered_token_exchanges(db: TestDb) {
    let app = TestApp::start(&db).await;
    let admin = jwt(&app, &admin_pat(&app).await).await;
    let id = "Imported0123456789xyz";
    let (token, phc) = foreign_token(id);
    assert!(phc.starts_with("$scrypt$ln=10,r=8,p=1$"), "{phc}");
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("/admin/tokens/{id}"),
        Some(&admin),
        Some(json!({"secretPhc": phc, "owner": "legacy@example.com", "roles": ["deploy"]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["record"]["tokenId"], id);
    assert_eq!(body["record"]["owner"], "legacy@example.com");
    let c = claims(&jwt(&app, &token).await);
    assert_eq!(
        (c["sub"].as_str(), c["owner"].as_str()),
        (Some(id), Some("legacy@example.com"))
    );
    assert_eq!(
        app.exchange(&token).await.status(),
        200,
        "the standard endpoint accepts it too"
    );
    let wrong = token.replace(".C", ".D");
    let res = app
        .http
        .post(app.url("/auth/token"))
        .form(&[("client_secret", wrong.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let dup = call(
        &app,
        Method::PUT,
        &format!("/admin/tokens/{id}"),
        Some(&admin),
        Some(json!({"secretPhc": phc, "owner": "x"})),
    )
    .await;
    assert_eq!(dup.0, 409);
    let bad = call(
        &app,
        Method::PUT,
        "/admin/tokens/Other0123456789abcdef",
        Some(&admin),
        Some(json!({"secretPhc": "$md5$x$y", "owner": "x"})),
    )
    .await;
    assert_eq!(bad.0, 400);
    let short = call(
        &app,
        Method::PUT,
        "/admin/tokens/short",
        Some(&admin),
        Some(json!({"secretPhc": phc, "owner": "x"})),
    )
    .await;
    assert_eq!(short.0, 400, "ids are 21 letters and digits");
}

async fn updates_revocations_and_restores(db: TestDb) {
    let app = TestApp::start(&db).await;
    let soon = (app.svc.now() + chrono::Duration::days(30)).timestamp();
    let admin = jwt(&app, &admin_pat(&app).await).await;
    let (_, body) = call(
        &app,
        Method::POST,
        "/admin/tokens",
        Some(&admin),
        Some(json!({"owner": "carol", "roles": ["a", "b"]})),
    )
    .await;
    let (id, token) = (
        body["record"]["tokenId"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    );
    let path = format!("/admin/tokens/{id}");
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"roles": {"add": ["c"]}}))
        )
        .await
        .0,
        204
    );
    assert_eq!(app.record(&id).await.scopes, vec!["a", "b", "c"]);
    assert_eq!(holders(&app, &admin, "c").await, vec![id.clone()]);
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"roles": {"remove": ["a"]}}))
        )
        .await
        .0,
        204
    );
    assert_eq!(app.record(&id).await.scopes, vec!["b", "c"]);
    // `hasRole` reads `token_scopes`, which the database keeps in step.
    assert!(holders(&app, &admin, "a").await.is_empty(), "a removed");
    assert_eq!(holders(&app, &admin, "b").await, vec![id.clone()]);
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"roles": ["z"], "isAdmin": true, "owner": "dave", "expiresAt": soon}))
        )
        .await
        .0,
        204
    );
    let record = app.record(&id).await;
    assert_eq!(
        (
            record.scopes,
            record.is_admin,
            record.owner.as_str(),
            record.expires_at.map(|t| t.timestamp())
        ),
        (vec!["z".to_string()], true, "dave", Some(soon))
    );
    assert!(holders(&app, &admin, "b").await.is_empty(), "b replaced");
    assert_eq!(holders(&app, &admin, "z").await, vec![id.clone()]);
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"roles": {"add": ["x"], "remove": ["z"]}}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"secretPhc": "nope"}))
        )
        .await
        .0,
        400
    );

    let soon = chrono::Utc::now().timestamp() + 3600;
    assert_eq!(
        call(
            &app,
            Method::PUT,
            &format!("{path}/revoke"),
            Some(&admin),
            Some(json!({"expiresAt": soon}))
        )
        .await
        .0,
        204
    );
    let res = app
        .http
        .post(app.url("/auth/token"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "revoked");
    assert_eq!(
        app.record(&id).await.expires_at.map(|t| t.timestamp()),
        Some(soon)
    );
    assert_eq!(
        call(
            &app,
            Method::PUT,
            &format!("{path}/revoke"),
            Some(&admin),
            None
        )
        .await
        .0,
        204,
        "again is fine"
    );
    assert_eq!(
        call(
            &app,
            Method::PUT,
            &format!("{path}/restore"),
            Some(&admin),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        app.http
            .post(app.url("/auth/token"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let trail: Vec<String> = app
        .blocking(move |s| s.read(|tx| patgate::audit::for_token(tx.conn, &id, None, 20)))
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.event)
        .collect();
    for event in ["created", "updated", "revoked", "restored"] {
        assert!(trail.iter().any(|e| e == event), "{event} in {trail:?}");
    }
}
