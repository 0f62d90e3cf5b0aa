//! Operator commands that stream (issue #21): `admin token list [--json]`
//! and `admin audit export` read in keyset batches and write as they read.
//! More rows than one batch, many with the same creation or event time,
//! come out each exactly once and in order.

use crate::both_backends;
use crate::support::{run, succeeded, write_config, TestApp, TestDb};
use patgate::policy::Principal;
use patgate::store::tokens::{insert, InsertOutcome, NewToken};
use patgate::tokens::format::TokenKind;
use serde_json::Value;
use std::collections::BTreeSet;

both_backends!(
    listings_and_exports_stream_past_one_batch,
    reminders_claim_in_bounded_batches,
);

/// More than the commands' batch of 1,000.
const ROWS: usize = 2_345;

async fn listings_and_exports_stream_past_one_batch(db: TestDb) {
    let app = TestApp::start(&db).await;
    // Rows straight through the store: nine share each creation second,
    // so batches must break ties by id.
    let base = app.svc.now();
    seed(&app, ROWS, move |i| {
        (base + chrono::Duration::seconds((i / 9) as i64), None)
    })
    .await;
    drop(app);
    let config = write_config(&db, |_| {});
    let listed = succeeded(run(&config, &["admin", "token", "list", "--json"]));
    let ids: Vec<String> = listed
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), ROWS, "every token once");
    let mut newest_first: Vec<String> = (0..ROWS).map(|i| format!("{i:0>21}")).collect();
    newest_first.reverse();
    assert_eq!(ids, newest_first, "newest first, ties by id");
    let table = succeeded(run(&config, &["admin", "token", "list"]));
    assert_eq!(table.lines().count(), ROWS + 1, "a header and a line each");

    // Users: pages of the same sign-in time (none), ordered by name.
    let users = succeeded(run(&config, &["admin", "user", "list", "--json"]));
    let names: Vec<String> = users
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .filter(|n| n.starts_with("user-"))
        .collect();
    let mut expected: Vec<String> = (0..ROWS).map(|i| format!("user-{i:05}")).collect();
    expected.sort();
    assert_eq!(names, expected, "every user once, in order");
    let table = succeeded(run(&config, &["admin", "user", "list"]));
    assert_eq!(
        table.lines().count(),
        users.lines().count() + 1,
        "a header and a line each"
    );

    let exported = succeeded(run(&config, &["admin", "audit", "export"]));
    let events: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let created: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "created")
        .map(|e| e["tokenId"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), ROWS, "every event once");
    let distinct: BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), events.len(), "no event twice");
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["occurredAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
}

/// Inserts `n` service tokens straight through the store, each with its
/// `created` event; `at(i)` gives the i-th token's creation and expiry.
async fn seed(
    app: &TestApp,
    n: usize,
    at: impl Fn(
            usize,
        ) -> (
            chrono::DateTime<chrono::Utc>,
            Option<chrono::DateTime<chrono::Utc>>,
        ) + Send
        + 'static,
) {
    app.blocking(move |s| {
        s.write(|tx| {
            for i in 0..n {
                let id = format!("{i:0>21}");
                let (created_at, expires_at) = at(i);
                let new = NewToken {
                    id: &id,
                    kind: TokenKind::Service,
                    owner: "ci",
                    name: &id,
                    description: None,
                    scopes: &[],
                    is_admin: false,
                    secret_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
                    client_id: None,
                    created_at,
                    expires_at,
                    cidrs: &[],
                    bound_client_id: None,
                    dpop_jkt: None,
                    resources: &[],
                };
                assert_eq!(insert(tx.conn, &new)?, InsertOutcome::Inserted);
                let user = format!("user-{i:05}");
                patgate::store::accounts::insert_user(tx.conn, &user, None, false, created_at)?;
                let who = Principal::operator("seed");
                patgate::audit::record(tx, &id, patgate::audit::Event::Created, &who, Value::Null)?;
            }
            Ok::<_, patgate::store::StoreError>(())
        })
    })
    .await
    .unwrap();
}

/// The reminder scan reads expiring tokens in batches and claims at most
/// 500 a run; the next runs take the rest, each token once.
async fn reminders_claim_in_bounded_batches(db: TestDb) {
    let app = TestApp::start(&db).await;
    let now = app.svc.now();
    // All expire within a day, many at the same second.
    seed(&app, 1_100, move |i| {
        (
            now,
            Some(now + chrono::Duration::hours(20) + chrono::Duration::seconds((i / 7) as i64)),
        )
    })
    .await;
    let mut runs = Vec::new();
    let mut claimed = BTreeSet::new();
    for _ in 0..4 {
        let notices = app.blocking(patgate::reminders::claim_due).await.unwrap();
        runs.push(notices.len());
        claimed.extend(notices.into_iter().map(|n| n.token_id));
    }
    assert_eq!(runs, [500, 500, 100, 0], "bounded runs");
    assert_eq!(claimed.len(), 1_100, "each token once");
}
