//! A disabled account is inert (issue #20, finding 5): with the default
//! `revoke_tokens_on_disable = false`, while alice is disabled her PAT
//! exchanges through no grant and not through the compatible API, her JWT
//! does nothing (no list, no creation), and no token can be issued for
//! her; enabling her restores every token that was not revoked.

use crate::both_backends;
use crate::holes_tokens::bearer;
use crate::support::{token_id, TestApp, TestDb};
use patgate::policy::Principal;
use patgate::tokens::RequestedLifetime;
use reqwest::Method;
use serde_json::json;

both_backends!(a_disabled_account_is_inert_until_enabled);

async fn set_disabled(app: &TestApp, user: &'static str, disabled: bool) {
    app.blocking(move |s| {
        let who = Principal::operator("test");
        s.write(|tx| patgate::accounts::set_disabled(tx, &who, user, disabled))
    })
    .await
    .unwrap();
}

async fn compat_exchange(app: &TestApp, pat: &str) -> u16 {
    crate::compat_api::exchange(app, pat)
        .await
        .status()
        .as_u16()
}

async fn a_disabled_account_is_inert_until_enabled(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("alice", "correct horse battery", false).await;
    let (manager, jwt) = app.token_api_jwt("alice", "cli").await;
    let ci = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let own = "/api/access-tokens/personal";
    assert_eq!(bearer(&app, Method::GET, own, &jwt, None).await.0, 200);

    set_disabled(&app, "alice", true).await;
    let before = app.all_tokens().await.len();
    let res = app.exchange(&ci).await;
    crate::support::assert_oauth_error(res, 400, "invalid_grant").await;
    assert_eq!(
        compat_exchange(&app, &ci).await,
        401,
        "nor through the compatible API"
    );
    assert_eq!(
        bearer(&app, Method::GET, own, &jwt, None).await.0,
        401,
        "her JWT lists nothing"
    );
    let create = json!({"name": "while-disabled", "scopes": ["read"]});
    assert_eq!(
        bearer(&app, Method::POST, own, &jwt, Some(create)).await.0,
        401
    );
    let issued = app
        .blocking(|s| {
            let req = patgate::tokens::IssueRequest::new(
                patgate::tokens::format::TokenKind::Personal,
                "alice",
                "by-operator",
                vec!["read".into()],
            );
            patgate::tokens::issue(s, &Principal::operator("test"), req)
        })
        .await;
    let refused = issued.map(|_| ()).unwrap_err().to_string();
    assert!(refused.contains("disabled"), "{refused}");
    assert_eq!(app.all_tokens().await.len(), before, "nothing was created");
    let record = app.record(&token_id(&ci)).await;
    assert_eq!(
        patgate::tokens::status(&record, app.svc.now()).as_str(),
        "suspended"
    );
    assert!(record.revoked_at.is_none(), "suspended, not revoked");
    let listed = |status: &'static str| {
        app.blocking(move |s| {
            let filter = patgate::store::token_queries::TokenFilter {
                owner: Some("alice".into()),
                status: Some(status.into()),
                ..Default::default()
            };
            let mut conn = s.conn().unwrap();
            patgate::store::token_queries::page(&mut conn, &filter, s.now(), None, 10).unwrap()
        })
    };
    assert_eq!(listed("suspended").await.len(), 2, "both of alice's tokens");
    assert!(listed("active").await.is_empty(), "none of them is active");

    set_disabled(&app, "alice", false).await;
    assert_eq!(
        app.exchange(&ci).await.status(),
        200,
        "enabled: usable again"
    );
    assert_eq!(compat_exchange(&app, &ci).await, 200);
    let jwt = app.jwt_for(&manager).await;
    assert_eq!(bearer(&app, Method::GET, own, &jwt, None).await.0, 200);
}
