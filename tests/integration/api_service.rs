//! `/api/access-tokens/service` and `/api/access-tokens/users/{subject}/revoke-all`:
//! contracts, pagination, filters, restore, and permissions.

use crate::both_backends;
use crate::support::{token_id, TestApp, TestDb};
use chrono::Duration;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

both_backends!(
    admins_create_list_revoke_and_restore_service_tokens,
    pages_cover_every_token_once,
    offboarding_and_permissions
);

async fn jwt(app: &TestApp, owner: &str, admin: bool) -> String {
    let pat = app
        .issue_request(IssueRequest {
            is_admin: admin,
            ..IssueRequest::new(
                TokenKind::Personal,
                owner,
                &format!("api-{}", uuid::Uuid::new_v4()),
                if admin {
                    vec!["patgate:admin".into()]
                } else {
                    crate::support::TOKEN_API_SCOPES.map(String::from).to_vec()
                },
            )
        })
        .await;
    app.exchange_ok(&pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    jwt: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(jwt);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

async fn admins_create_list_revoke_and_restore_service_tokens(db: TestDb) {
    let app = TestApp::start(&db).await;
    let admin = jwt(&app, "root", true).await;
    let base = "/api/access-tokens/service";
    let create = |name: &str, owner: &str| json!({"name": name, "owner": owner, "description": "deploys", "scopes": ["read"], "cidrs": ["10.0.0.0/8"]});
    let (status, created) = call(
        &app,
        Method::POST,
        base,
        &admin,
        Some(create("deployer", "team-a")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let raw = created["rawToken"].as_str().unwrap().to_string();
    assert!(raw.starts_with("sat_"));
    let token = &created["token"];
    assert_eq!(
        (
            token["kind"].as_str(),
            token["owner"].as_str(),
            token["description"].as_str()
        ),
        (Some("service"), Some("team-a"), Some("deploys"))
    );
    assert_eq!(
        (token["scopes"].clone(), token["cidrs"].clone()),
        (json!(["read"]), json!(["10.0.0.0/8"]))
    );
    let id = token["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            &app,
            Method::POST,
            base,
            &admin,
            Some(create("deployer", "team-a"))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            base,
            &admin,
            Some(create("deployer", "team-b"))
        )
        .await
        .0,
        201
    );
    for (bad, why) in [
        (
            json!({"name": "x", "owner": "o", "scopes": ["launch"]}),
            "unknown scope",
        ),
        (
            json!({"name": "x", "owner": "o", "scopes": [], "expiresAt": "tomorrow"}),
            "bad time",
        ),
        (
            json!({"name": "x", "owner": "o", "scopes": [], "expiresAt": "2999-01-01T00:00:00Z"}),
            "beyond policy",
        ),
        (json!({"owner": "o", "scopes": []}), "no name"),
        (
            json!({"name": "", "owner": "o", "scopes": []}),
            "empty name",
        ),
        (
            json!({"name": "x", "owner": "o", "scopes": [], "cidrs": ["nope"]}),
            "bad cidr",
        ),
        (
            json!({"name": "x", "owner": "o", "scopes": [], "colour": "red"}),
            "unknown field",
        ),
    ] {
        let (status, body) = call(&app, Method::POST, base, &admin, Some(bad)).await;
        assert_eq!(status, 422, "{why}: {body}");
        assert!(body["error"]["message"].is_string());
    }

    assert_eq!(
        call(&app, Method::GET, &format!("{base}/{id}"), &admin, None)
            .await
            .1["name"],
        "deployer"
    );
    let personal = token_id(
        &app.issue("root", "mine", &[], RequestedLifetime::Default)
            .await,
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("{base}/{personal}"),
            &admin,
            None
        )
        .await
        .0,
        404
    );

    app.clock.advance(Duration::seconds(1));
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{base}/{id}"),
        &admin,
        Some(json!({"reason": "leaked in a log"})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        call(&app, Method::DELETE, &format!("{base}/{id}"), &admin, None)
            .await
            .0,
        409
    );
    let revoked: Value = call(
        &app,
        Method::GET,
        &format!("{base}?status=revoked"),
        &admin,
        None,
    )
    .await
    .1;
    assert_eq!(revoked["tokens"].as_array().unwrap().len(), 1);
    app.clock.advance(Duration::seconds(1));
    let (status, restored) = call(
        &app,
        Method::POST,
        &format!("{base}/{id}/restore"),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (status, restored["token"]["status"].as_str()),
        (200, Some("active"))
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("{base}/{id}/restore"),
            &admin,
            None
        )
        .await
        .0,
        409
    );
    let trail = call(
        &app,
        Method::GET,
        &format!("{base}/{id}/audit"),
        &admin,
        None,
    )
    .await
    .1;
    let events: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["restored", "revoked", "created"]);
    assert_eq!(trail["events"][1]["details"]["reason"], "leaked in a log");
    assert_eq!(trail["events"][1]["actor"], "root");
    assert_eq!(
        trail["events"][1]["ip"], "127.0.0.1",
        "the actor's address is kept"
    );
    assert!(trail["next_cursor"].is_null());
    let first = call(
        &app,
        Method::GET,
        &format!("{base}/{id}/audit?limit=2"),
        &admin,
        None,
    )
    .await
    .1;
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more events")
        .to_string();
    let rest = call(
        &app,
        Method::GET,
        &format!("{base}/{id}/audit?limit=2&cursor={cursor}"),
        &admin,
        None,
    )
    .await
    .1;
    assert_eq!(
        rest["events"][0]["event"], "created",
        "the oldest, after the first page"
    );
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let bad = call(
        &app,
        Method::GET,
        &format!("{base}/{id}/audit?cursor=zz"),
        &admin,
        None,
    )
    .await;
    assert_eq!(bad.0, 400);
    // A restored token whose name was reused meanwhile cannot come back.
    call(&app, Method::DELETE, &format!("{base}/{id}"), &admin, None).await;
    assert_eq!(
        call(
            &app,
            Method::POST,
            base,
            &admin,
            Some(create("deployer", "team-a"))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("{base}/{id}/restore"),
            &admin,
            None
        )
        .await
        .0,
        409
    );
    let scopes = call(&app, Method::GET, &format!("{base}/scopes"), &admin, None)
        .await
        .1;
    let names: Vec<&str> = scopes["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"read") && names.contains(&"patgate:admin"),
        "{names:?}"
    );
}

async fn pages_cover_every_token_once(db: TestDb) {
    let app = TestApp::start(&db).await;
    let admin = jwt(&app, "root", true).await;
    let mut made = BTreeSet::new();
    for i in 0..7 {
        if i == 3 {
            app.clock.advance(Duration::seconds(1)); // some share a timestamp, some do not
        }
        let name = if i % 2 == 0 {
            format!("Build-{i}")
        } else {
            format!("deploy-{i}")
        };
        let (_, body) = call(
            &app,
            Method::POST,
            "/api/access-tokens/service",
            &admin,
            Some(json!({"name": name, "owner": "ci", "scopes": []})),
        )
        .await;
        made.insert(body["token"]["id"].as_str().unwrap().to_string());
    }
    let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/access-tokens/service?limit=3&cursor={c}"),
            None => "/api/access-tokens/service?limit=3".to_string(),
        };
        let page = call(&app, Method::GET, &path, &admin, None).await.1;
        seen.extend(
            page["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string()),
        );
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "no duplicates");
    assert_eq!(
        seen.iter().cloned().collect::<BTreeSet<_>>(),
        made,
        "no gaps"
    );
    let builds = call(
        &app,
        Method::GET,
        "/api/access-tokens/service?q=build&owner=ci",
        &admin,
        None,
    )
    .await
    .1;
    assert_eq!(
        builds["tokens"].as_array().unwrap().len(),
        4,
        "case-insensitive name search"
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/access-tokens/service?q=%25",
            &admin,
            None
        )
        .await
        .1["tokens"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "% is literal"
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/access-tokens/service?owner=nobody",
            &admin,
            None
        )
        .await
        .1["tokens"],
        json!([])
    );
    for bad in ["status=sleeping", "limit=0", "limit=abc", "cursor=garbage!"] {
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("/api/access-tokens/service?{bad}"),
                &admin,
                None
            )
            .await
            .0,
            400,
            "{bad}"
        );
    }
}

async fn offboarding_and_permissions(db: TestDb) {
    let app = TestApp::start(&db).await;
    let admin = jwt(&app, "root", true).await;
    let user = jwt(&app, "mallory", false).await;
    let a = app
        .issue("alice", "one", &[], RequestedLifetime::Default)
        .await;
    let b = app
        .issue("alice", "two", &[], RequestedLifetime::Default)
        .await;
    let old = app
        .issue("alice", "old", &[], RequestedLifetime::Default)
        .await;
    let bobs = app
        .issue("bob", "bobs", &[], RequestedLifetime::Default)
        .await;
    let id = token_id(&old);
    app.revoke(&id, "root").await;
    for (method, path) in [
        (Method::GET, "/api/access-tokens/service"),
        (Method::POST, "/api/access-tokens/service"),
        (Method::POST, "/api/access-tokens/users/alice/revoke-all"),
    ] {
        let (status, body) = call(
            &app,
            method,
            path,
            &user,
            Some(json!({"name": "x", "owner": "o", "scopes": []})),
        )
        .await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/access-tokens/service/scopes",
            &user,
            None
        )
        .await
        .0,
        200
    );
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/access-tokens/users/alice/revoke-all",
        &admin,
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!({"revoked": 2})));
    for pat in [&a, &b] {
        assert_eq!(app.exchange(pat).await.status(), 400);
    }
    app.exchange_ok(&bobs).await;
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/access-tokens/users/alice/revoke-all",
            &admin,
            None
        )
        .await
        .1,
        json!({"revoked": 0})
    );
}
