//! Expiry reminders reach a webhook exactly once per token and threshold:
//! not again on the next run, from another instance, or after a restart;
//! a failed delivery is retried.

use crate::both_backends;
use crate::support::smtp::{mailing_app, SmtpSink};
use crate::support::{token_id, TestApp, TestDb};
use chrono::Duration;
use patgate::config::Ttl;
use patgate::tokens::RequestedLifetime;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

both_backends!(
    reminders_are_delivered_once_per_threshold,
    reminders_reach_owners_by_email,
);

/// A webhook receiver on loopback: records JSON bodies; fails the next
/// `fail` deliveries with 500.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    fail: Arc<Mutex<u32>>,
}

impl Receiver {
    fn start(&self) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/patgate", listener.local_addr().unwrap());
        let me = self.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let status = {
                    let mut fail = me.fail.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        "500 Internal Server Error"
                    } else {
                        me.bodies
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                        "200 OK"
                    }
                };
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        url
    }

    fn received(&self) -> Vec<(String, String)> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .map(|b| {
                (
                    b["token"]["id"].as_str().unwrap().to_string(),
                    b["threshold"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

async fn run_once(app: &TestApp) -> usize {
    patgate::web::send_expiry_reminders(app.svc.clone())
        .await
        .unwrap()
}

async fn reminders_are_delivered_once_per_threshold(db: TestDb) {
    let receiver = Receiver::default();
    let url = receiver.start();
    let configure = |t: &mut toml::Table| {
        let mut reminders = toml::Table::new();
        reminders.insert("webhook_url".into(), url.clone().into());
        reminders.insert("check_every".into(), "1d".into()); // the test runs it itself
        t.insert("reminders".into(), reminders.into());
    };
    let app = TestApp::start_with(&db, configure).await;
    let in_days = |d: i64| RequestedLifetime::For(Ttl::from_seconds(d * 3_600 * 24));
    let soon = app.issue("alice", "three days", &[], in_days(3)).await;
    let sooner = app
        .issue(
            "alice",
            "twenty hours",
            &[],
            RequestedLifetime::For(Ttl::from_seconds(20 * 3_600)),
        )
        .await;
    app.issue("alice", "a month", &[], in_days(30)).await;
    let revoked = app.issue("alice", "revoked", &[], in_days(2)).await;
    let id = token_id(&revoked);
    app.revoke(&id, "test").await;

    assert_eq!(run_once(&app).await, 2);
    let mut got = receiver.received();
    got.sort();
    let mut want = vec![
        (token_id(&soon), "7d".to_string()),
        (token_id(&sooner), "1d".to_string()),
    ];
    want.sort();
    assert_eq!(got, want, "one notice each, for the tightest threshold");
    let first = receiver.bodies.lock().unwrap()[0].clone();
    assert_eq!(first["event"], "token.expiring");
    assert!(
        first["expiresAt"].is_string()
            && first["token"]["owner"] == "alice"
            && first["token"].get("secretHash").is_none()
    );

    assert_eq!(run_once(&app).await, 0, "not again on the next run");
    let other = TestApp::start_with(&db, configure).await;
    assert_eq!(run_once(&other).await, 0, "not again from another instance");

    app.clock.advance(Duration::hours(60));
    assert_eq!(
        run_once(&app).await,
        1,
        "the three-day token is now within a day"
    );
    assert_eq!(
        receiver.received().last().unwrap(),
        &(token_id(&soon), "1d".to_string())
    );

    let later = app.issue("bob", "two days", &[], in_days(2)).await;
    *receiver.fail.lock().unwrap() = 1;
    assert_eq!(run_once(&app).await, 0, "the webhook failed");
    assert_eq!(run_once(&app).await, 1, "and the notice is retried");
    assert_eq!(
        receiver.received().last().unwrap(),
        &(token_id(&later), "7d".to_string())
    );

    let restarted = TestApp::start_with(&db, configure).await;
    restarted.clock.advance(Duration::hours(60));
    assert_eq!(
        run_once(&restarted).await,
        0,
        "nothing again after a restart"
    );
    assert_eq!(receiver.received().len(), 4);
}

async fn reminders_reach_owners_by_email(db: TestDb) {
    let sink = SmtpSink::start();
    let app = mailing_app(&db, &sink).await;
    let bad = app.blocking(|s| {
        let who = patgate::policy::Principal::operator("ops");
        patgate::accounts::set_email(s, &who, "dana", Some("not an address"))
    });
    assert!(matches!(
        bad.await,
        Err(patgate::error::OpError::Malformed(_))
    ));
    let in_days = |d: i64| RequestedLifetime::For(Ttl::from_seconds(d * 3_600 * 24));
    let pat = app.issue("dana", "laptop", &["read"], in_days(3)).await;
    app.issue("nomail", "no address", &[], in_days(3)).await;

    *sink.reject.lock().unwrap() = 1;
    assert_eq!(
        run_once(&app).await,
        1,
        "the owner without an address: nothing to send"
    );
    assert!(sink.messages().is_empty(), "refused by the server");
    assert_eq!(
        run_once(&app).await,
        1,
        "given back, and sent on the next run"
    );
    assert_eq!(run_once(&app).await, 0, "once");

    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(
        (m.from.as_str(), m.to.as_slice()),
        (
            "patgate@example.test",
            &["dana@example.test".to_string()][..]
        )
    );
    let data = m.data.replace("\r\n", "\n");
    assert!(
        data.contains("Subject: Your patgate token \"laptop\" expires in 7d"),
        "{data}"
    );
    assert!(
        data.contains(&format!("pat_{}", token_id(&pat))),
        "the token's public prefix: {data}"
    );
    assert!(!data.contains(&pat), "never the secret");
    assert!(
        data.contains(app.url("/settings/personal-tokens").as_str()),
        "{data}"
    );
    assert!(data.contains("Scopes: read"));
}
