//! The device authorization grant (RFC 8628): codes, the `/device` page,
//! the consent screen, and every polling answer.

use crate::both_backends;
use crate::support::browser::{hidden_value, location, signed_in};
use crate::support::{assert_oauth_error, TestApp, TestDb};
use chrono::Duration;
use serde_json::Value;

both_backends!(
    a_device_gets_a_pat_once_the_person_approves,
    refusal_expiry_and_wrong_codes_are_answered,
);

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Starts a device authorization for the CLI client (scope `read`).
pub(crate) async fn start(app: &TestApp) -> Value {
    let res = app
        .http
        .post(app.url("/api/auth/v1/device_authorization"))
        .form(&[
            ("client_id", "patgate-cli"),
            ("scope", "read"),
            ("token_name", "build box"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

async fn poll(app: &TestApp, device_code: &str) -> reqwest::Response {
    app.token_form(&[
        ("grant_type", GRANT),
        ("device_code", device_code),
        ("client_id", "patgate-cli"),
    ])
    .await
}

/// Types the code at `/device` and answers the consent screen.
async fn answer(app: &TestApp, user: &str, code: &str, approve: bool) -> String {
    let (browser, csrf) = signed_in(app, user, false).await;
    let typed = code.replace('-', "").to_lowercase();
    let res = browser
        .post("/device", &[("csrf", &csrf), ("user_code", &typed)])
        .await;
    assert_eq!(
        res.status(),
        303,
        "a code typed in lower case without the dash is found"
    );
    let consent = location(&res);
    let page = browser.get(consent.as_str()).await.text().await.unwrap();
    assert!(page.contains("the device that showed you the code"));
    assert!(
        page.contains("value=\"build box\""),
        "the name the device suggested"
    );
    let csrf = hidden_value(&page, "csrf").unwrap();
    let action = if approve { "approve" } else { "cancel" };
    let form = [
        ("csrf", csrf.as_str()),
        ("token_name", "build box"),
        ("scope", "read"),
        ("expiry", "30"),
        ("action", action),
    ];
    let done = browser.post(consent.as_str(), &form).await;
    assert_eq!(done.status(), 200);
    done.text().await.unwrap()
}

async fn a_device_gets_a_pat_once_the_person_approves(db: TestDb) {
    let app = TestApp::start(&db).await;
    let started = start(&app).await;
    let code = started["user_code"].as_str().unwrap();
    assert!(regex_like_user_code(code), "{code}");
    assert_eq!(started["verification_uri"], app.url("/device").as_str());
    assert!(started["verification_uri_complete"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/device?user_code={code}")));
    assert_eq!(
        (started["expires_in"].as_i64(), started["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let device_code = started["device_code"].as_str().unwrap();

    assert_oauth_error(poll(&app, device_code).await, 400, "authorization_pending").await;
    assert_oauth_error(poll(&app, device_code).await, 400, "slow_down").await;
    app.clock.advance(Duration::seconds(11));
    assert_oauth_error(poll(&app, device_code).await, 400, "authorization_pending").await;

    let (browser, _) = signed_in(&app, "viewer", false).await;
    let form = browser
        .get(started["verification_uri_complete"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(&format!("value=\"{code}\"")),
        "the complete URI fills the code in"
    );
    let page = answer(&app, "alice", code, true).await;
    assert!(page.contains("Return to your device"));

    app.clock.advance(Duration::seconds(11));
    let res = poll(&app, device_code).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let pat = body["refresh_token"].as_str().unwrap();
    assert!(body["access_token"].is_string() && body["scope"] == "read");
    let record = app.record(&crate::support::token_id(pat)).await;
    assert_eq!(
        (record.owner.as_str(), record.name.as_str()),
        ("alice", "build box")
    );
    assert_eq!(record.client_id.as_deref(), Some("patgate-cli"));
    assert_eq!(app.exchange(pat).await.status(), 200);
    app.clock.advance(Duration::seconds(11));
    assert_oauth_error(poll(&app, device_code).await, 400, "invalid_grant").await;
}

fn regex_like_user_code(code: &str) -> bool {
    code.len() == 9
        && code.as_bytes()[4] == b'-'
        && code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c))
}

async fn refusal_expiry_and_wrong_codes_are_answered(db: TestDb) {
    let app = TestApp::start(&db).await;
    let refused = start(&app).await;
    answer(&app, "alice", refused["user_code"].as_str().unwrap(), false).await;
    assert_oauth_error(
        poll(&app, refused["device_code"].as_str().unwrap()).await,
        400,
        "access_denied",
    )
    .await;

    let expiring = start(&app).await;
    app.clock.advance(Duration::minutes(11));
    assert_oauth_error(
        poll(&app, expiring["device_code"].as_str().unwrap()).await,
        400,
        "expired_token",
    )
    .await;

    assert_oauth_error(
        poll(&app, "no-such-device-code").await,
        400,
        "invalid_grant",
    )
    .await;
    let other = start(&app).await;
    let wrong_client = app
        .token_form(&[
            ("grant_type", GRANT),
            ("device_code", other["device_code"].as_str().unwrap()),
            ("client_id", "patgate-web"),
        ])
        .await;
    assert_oauth_error(wrong_client, 400, "invalid_grant").await;
    let missing = app
        .token_form(&[("grant_type", GRANT), ("client_id", "patgate-cli")])
        .await;
    assert_oauth_error(missing, 400, "invalid_request").await;
    let bad_scope = app
        .http
        .post(app.url("/api/auth/v1/device_authorization"))
        .form(&[("client_id", "patgate-cli"), ("scope", "root")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(bad_scope, 400, "invalid_scope").await;

    let (browser, csrf) = signed_in(&app, "bob", false).await;
    let res = browser
        .post("/device", &[("csrf", &csrf), ("user_code", "ZZZZ-ZZZZ")])
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("unknown or has expired"));
    let anonymous = crate::support::browser::Browser::new(&app);
    assert_eq!(
        location(&anonymous.get("/device?user_code=ABCD-EFGH").await).path(),
        "/login"
    );
}
