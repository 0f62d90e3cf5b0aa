//! Who may do what: 403 pages and JSON for people without a permission,
//! sign-in required, and roles configured under `[access]`.

use crate::both_backends;
use crate::pages_admin::service;
use crate::support::browser::{signed_in, Browser};
use crate::support::{token_id, TestApp, TestDb};

both_backends!(
    people_without_permissions_get_403_pages,
    configured_roles_grant_only_their_permissions,
);

async fn people_without_permissions_get_403_pages(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (bob, csrf) = signed_in(&app, "bob", false).await;
    let sat = app.issue_request(service("platform", "bot")).await;
    for path in [
        "/admin/access-tokens".to_string(),
        "/admin/access-tokens/new".into(),
        "/admin/access-tokens?view=personal".into(),
        format!("/admin/access-tokens/{}", token_id(&sat)),
        "/admin/users/revoke-all?user=alice".into(),
    ] {
        let res = bob.get(&path).await;
        assert_eq!(res.status(), 403, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = res.text().await.unwrap();
        assert!(page.contains("Not allowed"));
        assert!(
            page.contains(
                "<nav class=\"links\"><a href=\"/\">Home</a><a href=\"/settings/personal-tokens\">"
            ),
            "the 403 page has navigation: {page}"
        );
    }
    let home = bob
        .get("/settings/personal-tokens")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains("/admin/access-tokens"),
        "no admin link for bob"
    );
    let create = bob
        .post(
            "/admin/access-tokens",
            &[("csrf", &csrf), ("name", "x"), ("owner", "y")],
        )
        .await;
    assert_eq!(create.status(), 403);
    let revoke = bob
        .post(
            &format!("/admin/access-tokens/{}/revoke", token_id(&sat)),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoke.status(), 403);
    assert_eq!(app.exchange(&sat).await.status(), 200);
    let anonymous = Browser::new(&app);
    assert_eq!(anonymous.get("/admin/access-tokens").await.status(), 303);
    assert_eq!(
        anonymous
            .post("/admin/users/revoke-all", &[("user", "bob")])
            .await
            .status(),
        401
    );
}

async fn configured_roles_grant_only_their_permissions(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let access: toml::Table = toml::from_str(
            r#"
            [roles]
            auditor = ["access-tokens:service:read"]
            "#,
        )
        .unwrap();
        t.insert("access".into(), access.into());
    })
    .await;
    let (carol, csrf) = signed_in(&app, "carol", false).await;
    let roles = vec!["auditor".to_string()];
    let set = app
        .blocking(move |s| {
            patgate::accounts::set_roles(
                s,
                &patgate::policy::Principal::operator("test"),
                "carol",
                &roles,
            )
        })
        .await
        .unwrap();
    assert_eq!(set, patgate::accounts::SetRolesOutcome::Set);
    let unknown = app
        .blocking(|s| {
            patgate::accounts::set_roles(
                s,
                &patgate::policy::Principal::operator("test"),
                "carol",
                &["ghost".to_string()],
            )
        })
        .await
        .unwrap();
    assert_eq!(
        unknown,
        patgate::accounts::SetRolesOutcome::UnknownRole("ghost".into())
    );
    let sat = app.issue_request(service("platform", "bot")).await;

    assert_eq!(carol.get("/admin/access-tokens").await.status(), 200);
    assert_eq!(
        carol
            .get(&format!("/admin/access-tokens/{}", token_id(&sat)))
            .await
            .status(),
        200
    );
    assert_eq!(carol.get("/admin/access-tokens/new").await.status(), 403);
    assert_eq!(
        carol
            .get("/admin/access-tokens?view=personal")
            .await
            .status(),
        403
    );
    let revoke = carol
        .post(
            &format!("/admin/access-tokens/{}/revoke", token_id(&sat)),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoke.status(), 403);
    let api = |method: reqwest::Method| {
        carol
            .http
            .request(method, app.url("/api/access-tokens/service"))
            .header("x-csrf-token", &csrf)
    };
    assert_eq!(
        api(reqwest::Method::GET).send().await.unwrap().status(),
        200
    );
    let created = api(reqwest::Method::POST)
        .json(&serde_json::json!({"name": "x", "owner": "y", "scopes": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 403);
    let body: serde_json::Value = created.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
}
