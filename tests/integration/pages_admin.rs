//! `/admin/access-tokens`: creating a service token shows it once; the
//! listing filters and pages in the database; the detail page shows the
//! audit trail; revoke with a reason, restore, offboarding.

use crate::both_backends;
use crate::support::browser::{hidden_value, location, shown_secret, signed_in};
use crate::support::{token_id, TestApp, TestDb};
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use std::collections::HashSet;

both_backends!(
    an_admin_creates_audits_revokes_and_restores_a_service_token,
    the_create_form_explains_mistakes,
    the_listing_filters_and_pages_without_gaps,
    offboarding_revokes_every_token_of_a_user,
);

/// A service-token request for `owner`.
pub fn service(owner: &str, name: &str) -> IssueRequest {
    IssueRequest::new(TokenKind::Service, owner, name, vec!["read".into()])
}

/// Token ids of the rows of a listing page.
fn row_ids(html: &str) -> Vec<String> {
    html.split("data-token-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

async fn an_admin_creates_audits_revokes_and_restores_a_service_token(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (admin, csrf) = signed_in(&app, "root", true).await;
    let form = admin.get("/admin/access-tokens/new").await;
    assert_eq!(form.status(), 200);
    assert!(form
        .text()
        .await
        .unwrap()
        .contains("name=\"scope\" value=\"write\""));
    let created = admin
        .post(
            "/admin/access-tokens",
            &[
                ("csrf", &csrf),
                ("name", "deploy-bot"),
                ("owner", "platform"),
                ("description", "deploys from CI"),
                ("scope", "read"),
                ("scope", "write"),
                ("cidrs", "127.0.0.0/8, ::1"),
            ],
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let html = created.text().await.unwrap();
    let sat = shown_secret(&html);
    assert!(sat.starts_with("sat_") && html.contains("never show it again"));
    let id = token_id(&sat);
    let record = app.record(&id).await;
    assert_eq!(
        (record.owner.as_str(), record.scopes.len()),
        ("platform", 2)
    );
    assert_eq!(record.cidrs, vec!["127.0.0.0/8", "::1/128"]);
    assert_eq!(app.exchange(&sat).await.status(), 200);
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .header("user-agent", firefox)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", sat.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.flush_counts().await;

    let detail_path = format!("/admin/access-tokens/{id}");
    let detail = admin.get(&detail_path).await.text().await.unwrap();
    assert!(!detail.contains(&sat), "the secret is shown once only");
    assert!(detail.contains("<td>created</td>") && detail.contains("<td>exchanged</td><td>2</td>"));
    assert!(detail.contains("deploys from CI") && detail.contains("status active"));
    assert!(
        detail.contains(&format!("title=\"{firefox}\">Firefox 133 on Linux</span>")),
        "a short user agent, the full one on hover: {detail}"
    );

    let revoked = admin
        .post(
            &format!("{detail_path}/revoke"),
            &[("csrf", &csrf), ("reason", "leaked in a log")],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(app.exchange(&sat).await.status(), 400);
    let detail = admin
        .get(location(&revoked).as_str())
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Token revoked.") && detail.contains("leaked in a log"));
    assert!(detail.contains("<dt>Revoked by</dt><dd>root</dd>"));
    assert!(
        detail.contains("<dl class=\"details\"><dt>reason</dt><dd>leaked in a log</dd></dl>"),
        "details are labelled fields, not JSON: {detail}"
    );
    assert!(!detail.contains("{&quot;") && !detail.contains("{\"reason"));
    assert!(
        detail.contains("127.0.0.1"),
        "the audit row carries the admin's address"
    );

    let restored = admin
        .post(&format!("{detail_path}/restore"), &[("csrf", &csrf)])
        .await;
    assert_eq!(restored.status(), 303);
    assert_eq!(app.exchange(&sat).await.status(), 200);
    let detail = admin.get(&detail_path).await.text().await.unwrap();
    assert!(detail.contains("<td>restored</td>") && detail.contains("status active"));
}

async fn the_create_form_explains_mistakes(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (admin, csrf) = signed_in(&app, "root", true).await;
    app.issue_request(service("platform", "deploy-bot")).await;
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let (admin, csrf) = (&admin, csrf.clone());
        async move {
            let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
            form.extend(fields);
            let res = admin.post("/admin/access-tokens", &form).await;
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, html) = post(vec![
        ("name", "deploy-bot"),
        ("owner", "platform"),
        ("scope", "read"),
    ])
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("already has an active token") && html.contains("value=\"deploy-bot\""));
    let (status, html) = post(vec![
        ("name", "x"),
        ("owner", "platform"),
        ("cidrs", "10.0.0.0/33"),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("not a CIDR range"));
    let (status, html) = post(vec![
        ("name", "x"),
        ("owner", "platform"),
        ("expires", "2001-01-01"),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("must be in the future"));
    let (status, html) = post(vec![
        ("name", "x"),
        ("owner", "platform"),
        ("scope", "root"),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("not in the scope catalogue"));
    let (status, _) = post(vec![
        ("name", "x"),
        ("owner", "platform"),
        ("expires", "2099-01-01"),
    ])
    .await;
    assert_eq!(status, 422, "beyond the maximum lifetime");
}

async fn the_listing_filters_and_pages_without_gaps(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (admin, _) = signed_in(&app, "root", true).await;
    let mut all = HashSet::new();
    for i in 0..30 {
        let owner = if i % 3 == 0 { "data" } else { "platform" };
        all.insert(token_id(
            &app.issue_request(service(owner, &format!("bot-{i:02}")))
                .await,
        ));
        app.clock.advance(chrono::Duration::seconds(1));
    }
    app.issue("alice", "laptop", &["read"], RequestedLifetime::Default)
        .await;

    let first = admin
        .get("/admin/access-tokens")
        .await
        .text()
        .await
        .unwrap();
    let mut seen = row_ids(&first);
    assert_eq!(seen.len(), 25, "a page holds 25");
    let next = first
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|u| u.contains("cursor=")))
        .unwrap();
    let second = admin
        .get(&next.replace("&#38;", "&").replace("&amp;", "&"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !second.contains("rel=\"next\""),
        "last page: {next} {}",
        row_ids(&second).len()
    );
    seen.extend(row_ids(&second));
    assert_eq!(seen.len(), 30);
    assert_eq!(
        seen.iter().cloned().collect::<HashSet<_>>(),
        all,
        "no duplicates, no gaps"
    );
    assert!(
        !first.contains("laptop") && !second.contains("laptop"),
        "personal tokens are another view"
    );

    let data = admin
        .get("/admin/access-tokens?owner=data")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(row_ids(&data).len(), 10);
    let named = admin
        .get("/admin/access-tokens?q=BOT-1")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        row_ids(&named).len(),
        10,
        "bot-10 … bot-19, case-insensitive"
    );
    let revoked = admin
        .get("/admin/access-tokens?status=revoked")
        .await
        .text()
        .await
        .unwrap();
    assert!(row_ids(&revoked).is_empty() && revoked.contains("No tokens match"));
    let people = admin
        .get("/admin/access-tokens?view=personal&owner=alice")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(row_ids(&people).len(), 1);
    assert!(people.contains("laptop"));
    let bad = admin.get("/admin/access-tokens?cursor=garbage").await;
    assert_eq!(bad.status(), 400);
}

async fn offboarding_revokes_every_token_of_a_user(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (admin, csrf) = signed_in(&app, "root", true).await;
    let a = app
        .issue("alice", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let b = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let other = app
        .issue("bob", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let confirm = admin.get("/admin/users/revoke-all?user=alice").await;
    assert_eq!(confirm.status(), 200);
    let html = confirm.text().await.unwrap();
    assert!(html.contains("Revoke every token of alice?"));
    assert_eq!(hidden_value(&html, "user").as_deref(), Some("alice"));
    let done = admin
        .post(
            "/admin/users/revoke-all",
            &[("csrf", &csrf), ("user", "alice")],
        )
        .await;
    assert_eq!(done.status(), 303);
    let page = admin
        .get(location(&done).as_str())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Revoked 2 token(s) of alice."));
    assert_eq!(page.matches("status revoked").count(), 2);
    for pat in [&a, &b] {
        assert_eq!(app.exchange(pat).await.status(), 400);
    }
    assert_eq!(app.exchange(&other).await.status(), 200, "only alice's");
}
