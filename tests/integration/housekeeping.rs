//! Expired rows are purged; live ones stay.

use crate::both_backends;
use crate::support::browser::{authorize_url, cli_client, location, Browser, LOOPBACK_REDIRECT};
use crate::support::{TestApp, TestDb};
use chrono::Duration;

both_backends!(purge_removes_only_what_expired);

async fn purge_removes_only_what_expired(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("alice", "correct horse battery", false).await;
    let old = Browser::new(&app);
    let client = cli_client(&app, "patgate-cli", LOOPBACK_REDIRECT);
    let (url, _, _) = authorize_url(&client, &["read"]);
    let old_request = location(&old.get(url.as_str()).await).path().to_string();
    assert_eq!(
        old.sign_in("alice", "correct horse battery", "/")
            .await
            .status(),
        303
    );
    let fresh = Browser::new(&app);
    fresh.sign_in("nobody", "wrong", "/").await; // counters for the name and the address
    app.clock.advance(Duration::days(2));
    let (url, _, _) = authorize_url(&client, &["read"]);
    let new_request = location(&fresh.get(url.as_str()).await).path().to_string();
    let purged = app.blocking(|s| s.purge_expired()).await.unwrap();
    assert_eq!(
        (
            purged.authorization_sessions,
            purged.browser_sessions,
            purged.throttle_entries
        ),
        (1, 1, 2)
    );
    assert_eq!(
        old.get(&old_request).await.status(),
        303,
        "the old session is gone: sign-in again"
    );
    assert_eq!(
        fresh
            .sign_in("alice", "correct horse battery", &new_request)
            .await
            .status(),
        303
    );
    assert_eq!(
        fresh.get(&new_request).await.status(),
        200,
        "the live request survived"
    );
    let again = app.blocking(|s| s.purge_expired()).await.unwrap();
    assert_eq!(again, Default::default());
}
