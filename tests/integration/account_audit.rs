//! The audit of people and clients: sign-ins (success, failure, disabled),
//! users disabled and enabled, roles and passwords set, clients added and
//! removed, in the same trail and export as token events; a flood of wrong
//! passwords adds one row per account, reason and minute.

use crate::both_backends;
use crate::support::browser::{signed_in, Browser};
use crate::support::{run, succeeded, write_config, TestApp, TestDb};
use patgate::audit::AuditView;
use patgate::policy::Principal;
use patgate::secret::SecretString;
use serde_json::{json, Value};

both_backends!(
    sign_ins_are_audited_and_failures_coalesced,
    user_changes_are_audited_with_who_made_them,
    operator_commands_are_in_the_export,
);

const PASSWORD: &str = "correct horse battery";

fn named<'a>(events: &'a [AuditView], event: &str) -> Vec<&'a AuditView> {
    events.iter().filter(|e| e.event == event).collect()
}

async fn sign_ins_are_audited_and_failures_coalesced(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("dana", PASSWORD, false).await;
    let browser = Browser::new(&app);
    for _ in 0..3 {
        assert_eq!(
            browser.sign_in("dana", "wrong one", "/").await.status(),
            401
        );
    }
    assert_eq!(browser.sign_in("nobody", "wrong", "/").await.status(), 401);
    assert_eq!(browser.sign_in("dana", PASSWORD, "/").await.status(), 303);

    let events = app.account_events().await;
    let failed = named(&events, "sign_in_failed");
    assert_eq!(
        failed.len(),
        2,
        "one row per account and minute: {events:?}"
    );
    let dana = failed
        .iter()
        .find(|e| e.subject.as_deref() == Some("dana"))
        .unwrap();
    assert_eq!(dana.count, 3, "three guesses, one row");
    assert_eq!(dana.details["reason"], "wrong_password");
    assert_eq!(dana.ip.as_deref(), Some("127.0.0.1"));
    let unknown = failed.iter().find(|e| e.subject.is_none()).unwrap();
    assert_eq!(
        (unknown.count, &unknown.details["user"]),
        (1, &json!("nobody"))
    );
    let signed_in = named(&events, "signed_in");
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].subject.as_deref(), Some("dana"));
    assert_eq!(signed_in[0].actor.as_deref(), Some("dana"));
    assert_eq!(signed_in[0].details, json!({"method": "password"}));
    assert!(signed_in[0].token_id.is_none());
}

async fn user_changes_are_audited_with_who_made_them(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("erin", PASSWORD, false).await;
    let (admin, csrf) = signed_in(&app, "root", true).await;
    let tick = || app.clock.advance(chrono::Duration::seconds(1));
    tick();
    let form = [("csrf", csrf.as_str()), ("user", "erin")];
    assert_eq!(
        admin.post("/admin/users/disable", &form).await.status(),
        303
    );
    tick();
    let refused = Browser::new(&app).sign_in("erin", PASSWORD, "/").await;
    assert_eq!(
        refused.status(),
        401,
        "disabled answers like a wrong password"
    );
    tick();
    assert_eq!(admin.post("/admin/users/enable", &form).await.status(), 303);
    tick();
    let roles = app
        .blocking(|s| {
            let who = Principal::operator("ops");
            patgate::accounts::set_roles(s, &who, "erin", &["admin".to_string()])
        })
        .await
        .unwrap();
    assert_eq!(roles, patgate::accounts::SetRolesOutcome::Set);
    tick();
    let password = app
        .blocking(|s| {
            let (who, new) = (
                Principal::operator("ops"),
                SecretString::new("another long one"),
            );
            patgate::accounts::set_password(s, &who, "erin", &new)
        })
        .await
        .unwrap();
    assert_eq!(password, patgate::accounts::SetPasswordOutcome::Set);
    tick();
    let set = app
        .blocking(|s| {
            let who = Principal::operator("ops");
            patgate::accounts::set_email(s, &who, "erin", Some("erin@example.com"))
        })
        .await
        .unwrap();
    assert!(set);

    let events = app.account_events().await;
    let about_erin: Vec<(&str, Option<&str>, &Value)> = events
        .iter()
        .filter(|e| e.subject.as_deref() == Some("erin") && e.event != "signed_in")
        .map(|e| (e.event.as_str(), e.actor.as_deref(), &e.details))
        .collect();
    assert_eq!(
        about_erin,
        vec![
            ("user_added", Some("cli:test"), &json!({"admin": false})),
            ("user_disabled", Some("root"), &json!({})),
            (
                "sign_in_failed",
                None,
                &json!({"reason": "disabled", "user": "erin"})
            ),
            ("user_enabled", Some("root"), &json!({})),
            (
                "roles_changed",
                Some("cli:ops"),
                &json!({"roles": ["admin"]})
            ),
            ("password_set", Some("cli:ops"), &json!({})),
            ("email_set", Some("cli:ops"), &json!({"set": true})),
        ]
    );
    let disabled = named(&events, "user_disabled")[0];
    assert_eq!(disabled.ip.as_deref(), Some("127.0.0.1"), "from where");
}

async fn operator_commands_are_in_the_export(db: TestDb) {
    let config = write_config(&db, |_| {});
    let ok = succeeded;
    ok(run(&config, &["admin", "user", "add", "fay"]));
    ok(run(
        &config,
        &[
            "admin",
            "client",
            "add",
            "deploy-bot",
            "--name",
            "Deploy bot",
            "--redirect-uri",
            "http://127.0.0.1/cb",
        ],
    ));
    ok(run(&config, &["admin", "client", "remove", "deploy-bot"]));
    ok(run(&config, &["admin", "user", "disable", "fay"]));
    let lines: Vec<Value> = ok(run(&config, &["admin", "audit", "export"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str)> = lines
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
        [
            "user_added",
            "client_added",
            "client_removed",
            "user_disabled"
        ]
    );
    assert!(seen.iter().all(|(_, a)| a.starts_with("cli:")), "{seen:?}");
    assert_eq!(lines[0]["subject"], "fay");
    assert!(lines[0].get("tokenId").is_none(), "no token: {}", lines[0]);
    assert_eq!(lines[1]["details"]["clientId"], "deploy-bot");
    assert_eq!(lines[1]["details"]["confidential"], false);
}
