//! A person's own lists are paged (issue #21): the personal JSON list and
//! the settings page answer one page at a time with a cursor to the next,
//! each token exactly once, newest first; bad limits and cursors are 400.

use crate::both_backends;
use crate::holes_tokens::bearer;
use crate::support::browser::signed_in;
use crate::support::{TestApp, TestDb};
use patgate::tokens::RequestedLifetime;
use reqwest::Method;
use serde_json::Value;

both_backends!(
    own_lists_are_paged_with_a_cursor,
    the_users_page_is_paged_with_a_cursor,
);

async fn own_lists_are_paged_with_a_cursor(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (browser, _) = signed_in(&app, "alice", false).await;
    let (_, jwt) = app.token_api_jwt("alice", "cli").await;
    for i in 0..59 {
        app.issue(
            "alice",
            &format!("t{i:02}"),
            &["read"],
            RequestedLifetime::Default,
        )
        .await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    // The JSON list: pages of 25 until next_cursor is null.
    let (mut names, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut path = "/api/access-tokens/personal?limit=25".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body, _) = bearer(&app, Method::GET, &path, &jwt, None).await;
        assert_eq!(status, 200, "{body}");
        let tokens = body["tokens"].as_array().unwrap();
        assert!(tokens.len() <= 25);
        names.extend(
            tokens
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        pages += 1;
        match &body["next_cursor"] {
            Value::String(c) => cursor = Some(c.clone()),
            Value::Null => break,
            other => panic!("next_cursor {other}"),
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 60, "59 and the CLI's own, each once");
    assert_eq!(names[0], "t58", "newest first");
    let (status, body, _) =
        bearer(&app, Method::GET, "/api/access-tokens/personal", &jwt, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["tokens"].as_array().unwrap().len(),
        50,
        "50 by default"
    );
    for bad in ["limit=0", "limit=201", "limit=x", "cursor=not-a-cursor"] {
        let path = format!("/api/access-tokens/personal?{bad}");
        let (status, _, _) = bearer(&app, Method::GET, &path, &jwt, None).await;
        assert_eq!(status, 400, "{bad}");
    }

    // The settings page: 25 rows, the count, and a link to the older ones.
    let first = browser
        .get("/settings/personal-tokens")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first.matches("data-token-id=").count(), 25);
    assert!(first.contains("You have 60 tokens"), "the count");
    let next = first
        .split("rel=\"next\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|h| h.split('"').next().unwrap().replace("&amp;", "&"))
        .expect("a link to older tokens");
    let mut seen = 25;
    let mut page = browser.get(&next).await.text().await.unwrap();
    loop {
        seen += page.matches("data-token-id=").count();
        let Some(more) = page
            .split("rel=\"next\"")
            .next()
            .filter(|_| page.contains("rel=\"next\""))
        else {
            break;
        };
        let url = more
            .rsplit("href=\"")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        page = browser.get(&url).await.text().await.unwrap();
    }
    assert_eq!(seen, 60, "every token on some page");
    let res = browser.get("/settings/personal-tokens?cursor=bad").await;
    assert_eq!(res.status(), 400);
}

/// The `rel="next"` link of `html`, if any, with `&amp;` decoded.
fn next_link(html: &str) -> Option<String> {
    if !html.contains("rel=\"next\"") {
        return None;
    }
    let before = html.split("rel=\"next\"").next()?;
    let href = before.rsplit("href=\"").next()?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

/// 250 users, 150 of them signed in at different times (some at the same
/// second) and 100 never: pages of 100, most recent sign-in first, then
/// those who never signed in; each once.
async fn the_users_page_is_paged_with_a_cursor(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (admin, _) = signed_in(&app, "root", true).await;
    let now = app.svc.now();
    app.blocking(move |s| {
        use diesel::prelude::*;
        use patgate::store::schema::users::dsl as u;
        s.write(|tx| {
            for i in 0..249 {
                let at = (i < 149)
                    .then(|| (now - chrono::Duration::minutes((i / 3) as i64)).naive_utc());
                diesel::insert_into(u::users)
                    .values((
                        u::subject.eq(format!("user{i:03}")),
                        u::created_at.eq(now.naive_utc()),
                        u::last_login_at.eq(at),
                    ))
                    .execute(&mut *tx.conn)?;
            }
            Ok::<_, patgate::store::StoreError>(())
        })
    })
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut page = admin.get("/admin/users").await.text().await.unwrap();
    let mut pages = 1;
    loop {
        for row in page.split("<tr").skip(2) {
            if let Some(name) = row
                .split("<td><strong>")
                .nth(1)
                .and_then(|r| r.split('<').next())
            {
                seen.push(name.to_string());
            }
        }
        let Some(next) = next_link(&page) else {
            break;
        };
        page = admin.get(&next).await.text().await.unwrap();
        pages += 1;
    }
    assert_eq!(pages, 3, "pages of 100");
    assert_eq!(
        seen.len(),
        250,
        "every user once: {:?}",
        &seen[..5.min(seen.len())]
    );
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 250);
    assert_eq!(seen[0], "root", "root signed in last");
    assert_eq!(
        &seen[1..4],
        ["user000", "user001", "user002"],
        "then by time, ties by name"
    );
    assert_eq!(seen[150], "user149", "then who never signed in, by name");
    let res = admin.get("/admin/users?cursor=bad").await;
    assert_eq!(res.status(), 400);
}
