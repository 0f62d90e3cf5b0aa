//! One operation, one transaction (7): a fault injected between the
//! statements of an operation — the audit insert fails, by a trigger the
//! test adds to the database — leaves nothing of it behind. And one pooled
//! connection per request path: a pool of one serves every path.

use crate::both_backends;
use crate::support::browser::{self, LOOPBACK_REDIRECT};
use crate::support::{token_id, TestApp, TestDb};
use diesel::connection::SimpleConnection;
use patgate::store::{Backend, SessionStatus};
use patgate::tokens::RequestedLifetime;
use serde_json::{json, Value};

both_backends!(
    a_failing_audit_insert_undoes_its_operation,
    one_connection_serves_every_request_path,
);

/// Makes every audit insert fail (`on`), or stops doing so.
async fn fail_audit_inserts(app: &TestApp, on: bool) {
    app.blocking(move |s| {
        let sql = match (s.db.backend(), on) {
            (Backend::Sqlite, true) => {
                "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
            }
            (Backend::Sqlite, false) => "DROP TRIGGER fail_audit;",
            (Backend::Postgres, true) => {
                "CREATE FUNCTION fail_audit() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION fail_audit();"
            }
            (Backend::Postgres, false) => {
                "DROP TRIGGER fail_audit ON audit_events; \
                 DROP FUNCTION fail_audit();"
            }
        };
        s.conn().unwrap().batch_execute(sql).unwrap();
    })
    .await;
}

async fn api(app: &TestApp, method: reqwest::Method, path: &str, jwt: &str, body: Value) -> u16 {
    let res = app
        .http
        .request(method, app.url(path))
        .bearer_auth(jwt)
        .json(&body)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// A code approved by alice for the CLI client, with its PKCE verifier.
async fn approved_code(app: &TestApp) -> (String, String) {
    let (back, _, verifier) =
        browser::approved_code(app, "alice", "patgate-cli", LOOPBACK_REDIRECT).await;
    let code = browser::query_value(&back, "code").expect("a code");
    (code, verifier.secret().clone())
}

async fn redeem(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    app.token_form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", LOOPBACK_REDIRECT),
        ("code_verifier", verifier),
        ("client_id", "patgate-cli"),
    ])
    .await
}

async fn a_failing_audit_insert_undoes_its_operation(db: TestDb) {
    let app = TestApp::start(&db).await;
    let scopes = [
        "read",
        "patgate:tokens:read",
        "patgate:tokens:write",
        "patgate:tokens:revoke",
    ];
    let manager = app
        .issue("bob", "manager", &scopes, RequestedLifetime::Default)
        .await;
    let target = app
        .issue("bob", "target", &["read"], RequestedLifetime::Default)
        .await;
    let jwt = app.jwt_for(&manager).await;
    let (code, verifier) = approved_code(&app).await;
    let before = app.all_tokens().await;
    let target_id = token_id(&target);
    let personal = "/api/access-tokens/personal";
    use reqwest::Method as M;

    fail_audit_inserts(&app, true).await;
    // Issue: the insert happened, its audit event failed: no token remains.
    let create = json!({"name": "new", "scopes": ["read"]});
    assert_eq!(api(&app, M::POST, personal, &jwt, create).await, 500);
    // Revoke and rotate: the change is undone with its event.
    let one = format!("{personal}/{target_id}");
    assert_eq!(api(&app, M::DELETE, &one, &jwt, json!({})).await, 500);
    let rotate = format!("{one}/rotate");
    assert_eq!(
        api(&app, M::POST, &rotate, &jwt, json!({"graceSeconds": 0})).await,
        500
    );
    // Approve → code → PAT: consuming the code, issuing, binding and the
    // event are one; the code stays unused.
    let res = redeem(&app, &code, &verifier).await;
    assert_eq!(res.status(), 500);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "server_error");
    assert_eq!(
        app.all_tokens().await,
        before,
        "nothing of any of them remains"
    );
    let sessions = app
        .blocking(|s| {
            use diesel::{QueryDsl, RunQueryDsl};
            use patgate::store::schema::authorization_sessions::dsl as a;
            s.read(|tx| {
                a::authorization_sessions
                    .select((a::status, a::token_id))
                    .load::<(SessionStatus, Option<String>)>(tx.conn)
                    .map_err(patgate::store::StoreError::from)
            })
        })
        .await
        .unwrap();
    assert_eq!(sessions, vec![(SessionStatus::Approved, None)]);
    app.exchange_ok(&target).await;

    fail_audit_inserts(&app, false).await;
    // The same requests now succeed, the code included.
    assert_eq!(redeem(&app, &code, &verifier).await.status(), 200);
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(api(&app, M::DELETE, &one, &jwt, json!({})).await, 204);
    assert_eq!(app.events_of(&target_id).await, vec!["revoked", "created"]);
}

async fn one_connection_serves_every_request_path(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("database_pool_size".into(), 1.into());
    })
    .await;
    // Consent, the code exchange (which used to hold two connections at
    // once and wait for itself), the management API and the exchange.
    let (code, verifier) = approved_code(&app).await;
    let res = redeem(&app, &code, &verifier).await;
    assert_eq!(res.status(), 200);
    let pat: Value = res.json().await.unwrap();
    app.exchange_ok(pat["refresh_token"].as_str().unwrap())
        .await;
    let scopes = [
        "read",
        "patgate:tokens:read",
        "patgate:tokens:write",
        "patgate:tokens:revoke",
    ];
    let manager = app
        .issue("bob", "manager", &scopes, RequestedLifetime::Default)
        .await;
    let jwt = app.jwt_for(&manager).await;
    use reqwest::Method as M;
    let create = json!({"name": "made", "scopes": ["read"]});
    let personal = "/api/access-tokens/personal";
    assert_eq!(api(&app, M::POST, personal, &jwt, create).await, 201);
    let rotate = format!("{personal}/{}/rotate", token_id(&manager));
    assert_eq!(
        api(&app, M::POST, &rotate, &jwt, json!({"graceSeconds": 60})).await,
        200
    );
    let all = "/api/access-tokens/users/bob/revoke-all";
    assert_eq!(api(&app, M::POST, all, &jwt, json!({})).await, 403);
}
