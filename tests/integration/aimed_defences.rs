//! patgate's defences cannot be aimed at a holder (issue #20): what
//! strangers do with a token's public id never refuses its holder's
//! genuine exchange or revocation from another address, never stops a
//! genuine leak report, and inactive ids cost no hashing. Each attack runs
//! as described, from its own loopback address (127.0.0.2, .4, .5 attack;
//! 127.0.0.3 is the holder or the honest reporter).

use crate::both_backends;
use crate::support::{token_id, TestApp, TestDb};
use patgate::tokens::RequestedLifetime;
use serde_json::{json, Value};
use std::net::IpAddr;

both_backends!(
    wrong_secrets_from_elsewhere_never_refuse_the_holder,
    a_genuine_leak_report_always_revokes,
    inactive_ids_cost_no_hashing_in_a_leak_report,
);

/// An HTTP client whose connections come from `ip` (a loopback address).
pub(crate) fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse::<IpAddr>().unwrap()))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `raw` with its secret replaced by random characters, still well-formed
/// (its checksum recomputed): what someone who knows only the id sends.
fn forged_secret(raw: &str) -> String {
    let id = token_id(raw);
    let random = patgate::clock::random_alphanumeric(&patgate::clock::OsRandom, 44);
    patgate::tokens::format::with_checksum(&format!("{}_{id}.{random}", &raw[..3]))
}

async fn exchange_from(app: &TestApp, from: &reqwest::Client, pat: &str) -> u16 {
    from.post(app.url("/api/auth/v1/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", pat)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn wrong_secrets_from_elsewhere_never_refuse_the_holder(db: TestDb) {
    let app = TestApp::start(&db).await;
    let attacker = client_from("127.0.0.2");
    let holder = client_from("127.0.0.3");
    // Never exchanged: the holder's first use is a full verification.
    let first_use = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let to_revoke = app
        .issue("alice", "old-ci", &["read"], RequestedLifetime::Default)
        .await;
    let mut statuses = Vec::new();
    for pat in [&first_use, &to_revoke] {
        for _ in 0..8 {
            statuses.push(exchange_from(&app, &attacker, &forged_secret(pat)).await);
        }
    }
    assert!(
        statuses.contains(&429),
        "the guesser's own budget runs out: {statuses:?}"
    );
    assert_eq!(
        exchange_from(&app, &holder, &first_use).await,
        200,
        "the holder's genuine, uncached exchange from another address"
    );
    let res = holder
        .post(app.url("/api/auth/v1/revoke"))
        .form(&[("token", to_revoke.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let record = app.record(&token_id(&to_revoke)).await;
    assert!(record.revoked_at.is_some(), "the holder's revocation took");
    assert_eq!(
        exchange_from(&app, &attacker, &forged_secret(&first_use)).await,
        429,
        "the guesser stays refused"
    );
}

async fn report_from(app: &TestApp, from: &reqwest::Client, tokens: &[String]) -> (u16, Value) {
    let res = from
        .post(app.url("/api/leaked-tokens"))
        .json(&json!({"tokens": tokens, "url": "https://paste.example/x"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn a_genuine_leak_report_always_revokes(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "deploy", &["read"], RequestedLifetime::Default)
        .await;
    // A thief who keeps the stolen token alive: forged secrets for its id
    // from three addresses, more than any per-id budget.
    for ip in ["127.0.0.2", "127.0.0.4", "127.0.0.5"] {
        let forged: Vec<String> = (0..10).map(|_| forged_secret(&pat)).collect();
        let (status, _) = report_from(&app, &client_from(ip), &forged).await;
        assert!(status == 429 || status == 202, "{status}");
    }
    assert_eq!(
        app.exchange(&pat).await.status(),
        200,
        "forgeries revoke nothing"
    );
    let (status, body) =
        report_from(&app, &client_from("127.0.0.3"), std::slice::from_ref(&pat)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["received"], 1);
    assert_eq!(app.exchange(&pat).await.status(), 400, "revoked");
    let record = app.record(&token_id(&pat)).await;
    assert_eq!(record.revoked_by.as_deref(), Some("patgate:leak-report"));
}

async fn inactive_ids_cost_no_hashing_in_a_leak_report(db: TestDb) {
    let app = TestApp::start(&db).await;
    let revoked = app
        .issue("alice", "gone", &["read"], RequestedLifetime::Default)
        .await;
    app.revoke(&token_id(&revoked), "alice").await;
    let expiring = app
        .issue(
            "alice",
            "short",
            &["read"],
            RequestedLifetime::Until(app.svc.now() + chrono::Duration::days(1)),
        )
        .await;
    app.clock.advance(chrono::Duration::days(2));
    let before = app.svc.hasher.verifications();
    let mut tokens: Vec<String> = (0..100).map(|_| forged_secret(&revoked)).collect();
    tokens.extend((0..100).map(|_| forged_secret(&expiring)));
    tokens.push(revoked.clone());
    let (status, body) = report_from(&app, &client_from("127.0.0.2"), &tokens).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        app.svc.hasher.verifications() - before,
        0,
        "revoked and expired ids cost no argon2"
    );
}
