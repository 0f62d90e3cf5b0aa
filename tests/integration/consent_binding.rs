//! An authorization request may ask for a token limited to one resource
//! server (RFC 8707 `resource`) and bound to a key (RFC 9449 §10
//! `dpop_jkt`): the consent screen says so in words, the code exchanges
//! only with a proof by that key, and the PAT and its first JWT carry both.

use crate::both_backends;
use crate::support::browser::{authorize_url, cli_client, location, query_value, signed_in};
use crate::support::{token_id, TestApp, TestDb};
use oauth2::PkceCodeVerifier;
use patgate::client::DpopKey;
use serde_json::Value;

both_backends!(the_consent_screen_limits_and_binds_the_token);

const ORDERS: &str = "https://orders.example.com";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn redeem(
    app: &TestApp,
    code: &str,
    verifier: &PkceCodeVerifier,
    proof: Option<String>,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.secret().as_str()),
        ("client_id", "patgate-cli"),
    ];
    let mut req = app.http.post(app.url("/api/auth/v1/token")).form(&form);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

async fn the_consent_screen_limits_and_binds_the_token(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let extra: toml::Table = toml::from_str(&format!(
            "[[resources]]\naudience = \"{ORDERS}\"\ndescription = \"Orders API\"\n"
        ))
        .unwrap();
        t.extend(extra);
    })
    .await;
    let (browser, csrf) = signed_in(&app, "alice", false).await;
    let client = cli_client(&app, "patgate-cli", REDIRECT);

    let (mut unknown, _, _) = authorize_url(&client, &["read"]);
    unknown
        .query_pairs_mut()
        .append_pair("resource", "https://unknown.example.com");
    let refused = location(&browser.get(unknown.as_str()).await);
    assert_eq!(
        query_value(&refused, "error").as_deref(),
        Some("invalid_target")
    );

    let key = DpopKey::generate().unwrap();
    let (mut url, _, verifier) = authorize_url(&client, &["read"]);
    url.query_pairs_mut()
        .append_pair("resource", ORDERS)
        .append_pair("dpop_jkt", key.thumbprint());
    let consent = location(&browser.get(url.as_str()).await);
    let page = browser.get(consent.as_str()).await.text().await.unwrap();
    assert!(
        page.contains("It will work only with <strong>Orders API</strong>"),
        "{page}"
    );
    assert!(page.contains(key.thumbprint()), "the key is shown");
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("token_name", "bound laptop"),
        ("expiry", "30"),
        ("scope", "read"),
    ];
    let back = location(&browser.post(consent.path(), &form).await);
    let code = query_value(&back, "code").expect("a code");

    let res = redeem(&app, &code, &verifier, None).await;
    crate::support::assert_oauth_error(res, 400, "invalid_grant").await;
    let other = DpopKey::generate()
        .unwrap()
        .proof("POST", &app.url("/api/auth/v1/token"), None)
        .unwrap();
    let res = redeem(&app, &code, &verifier, Some(other)).await;
    crate::support::assert_oauth_error(res, 400, "invalid_grant").await;
    let proof = key
        .proof("POST", &app.url("/api/auth/v1/token"), None)
        .unwrap();
    let res = redeem(&app, &code, &verifier, Some(proof)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let pat = body["refresh_token"].as_str().unwrap();
    let claims = crate::support::jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (claims["aud"].as_str(), claims["cnf"]["jkt"].as_str()),
        (Some(ORDERS), Some(key.thumbprint()))
    );
    let record = app.record(&token_id(pat)).await;
    assert_eq!(record.resources, vec![ORDERS.to_string()]);
    assert_eq!(record.dpop_jkt.as_deref(), Some(key.thumbprint()));
    assert_eq!(
        app.exchange(pat).await.status(),
        400,
        "the PAT needs the key too"
    );
}
