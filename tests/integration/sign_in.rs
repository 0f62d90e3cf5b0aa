//! Local sign-in: one answer for unknown user and wrong password, throttling
//! per account and per address, local `next` only, cookie attributes,
//! timeouts, sign-out, and security headers on pages.

use crate::both_backends;
use crate::support::browser::{hidden_value, location, Browser};
use crate::support::{TestApp, TestDb};
use chrono::Duration;

both_backends!(
    unknown_user_and_wrong_password_look_the_same_and_are_throttled,
    sessions_have_safe_cookies_timeouts_and_sign_out,
);

const PASSWORD: &str = "correct horse battery";

async fn error_text(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let html = res.text().await.unwrap();
    let start = html.find("role=\"alert\">").map(|i| i + 13).unwrap_or(0);
    (
        status,
        html[start..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_string(),
    )
}

async fn unknown_user_and_wrong_password_look_the_same_and_are_throttled(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("alice", PASSWORD, false).await;
    app.add_user("bob", PASSWORD, false).await;
    let browser = Browser::new(&app);
    let wrong = error_text(browser.sign_in("alice", "not the password", "/").await).await;
    let unknown = error_text(browser.sign_in("nobody", "not the password", "/").await).await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.0, 401);
    // Per account: five free failures (one used above), the sixth slows it down.
    for _ in 0..5 {
        browser.sign_in("alice", "still wrong", "/").await;
    }
    let (status, text) = error_text(browser.sign_in("alice", PASSWORD, "/").await).await;
    assert_eq!(status, 429, "even the right password waits: {text}");
    assert!(text.contains("Try again in"));
    let fresh = || Browser::new(&app);
    assert_eq!(
        fresh().sign_in("bob", PASSWORD, "/").await.status(),
        303,
        "other accounts are unaffected"
    );
    app.clock.advance(Duration::seconds(3));
    assert_eq!(
        fresh().sign_in("alice", PASSWORD, "/").await.status(),
        303,
        "after the wait it works"
    );
    // Per address: twenty failures across many names, then every name waits.
    for i in 0..16 {
        browser.sign_in(&format!("guess{i}"), "x", "/").await;
    }
    assert_eq!(
        error_text(fresh().sign_in("bob", PASSWORD, "/").await)
            .await
            .0,
        429
    );
    // A missing login CSRF cookie/field is refused.
    let res = fresh()
        .post(
            "/login",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf", "forged"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
}

async fn sessions_have_safe_cookies_timeouts_and_sign_out(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("session_idle_timeout".into(), "2h".into());
        t.insert("session_max_age".into(), "3h".into());
    })
    .await;
    app.add_user("alice", PASSWORD, false).await;
    let browser = Browser::new(&app);
    let page = browser.get("/login").await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(page.headers()[name], value, "{name}");
    }
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        !page.text().await.unwrap().contains("<script"),
        "no script on pages"
    );

    let res = browser
        .sign_in("alice", PASSWORD, "https://evil.example/")
        .await;
    assert_eq!(
        location(&res).as_str(),
        app.url("/").as_str(),
        "next only to local paths"
    );
    let set_cookie: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set_cookie
        .iter()
        .find(|c| c.starts_with("patgate_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain-http issuer: no Secure flag"
    );

    let signed_in = |body: String| body.contains("Signed in");
    app.clock.advance(Duration::minutes(100));
    assert!(
        signed_in(browser.get("/").await.text().await.unwrap()),
        "active within the idle timeout"
    );
    app.clock.advance(Duration::minutes(100));
    assert_eq!(
        browser.get("/").await.status(),
        303,
        "past the absolute timeout despite activity"
    );

    let res = browser.sign_in("alice", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    app.clock.advance(Duration::minutes(121));
    assert_eq!(browser.get("/").await.status(), 303, "idle timeout");

    browser.sign_in("alice", PASSWORD, "/").await;
    let home = browser.get("/").await.text().await.unwrap();
    let csrf = hidden_value(&home, "csrf").unwrap();
    assert_eq!(
        browser.post("/logout", &[("csrf", "wrong")]).await.status(),
        403
    );
    assert_eq!(
        browser.post("/logout", &[("csrf", &csrf)]).await.status(),
        303
    );
    assert_eq!(browser.get("/").await.status(), 303, "signed out");
}

#[actix_web::test]
async fn cookies_are_secure_behind_an_https_issuer() {
    let db = TestDb::sqlite();
    let app = TestApp::start_with(&db, |t| {
        t.insert("issuer".into(), "https://patgate.example".into());
    })
    .await;
    app.add_user("alice", PASSWORD, false).await;
    let res = Browser::new(&app).get("/login").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}
