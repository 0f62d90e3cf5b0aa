//! `POST /api/leaked-tokens`: genuine reported tokens are revoked with
//! reason `leaked` and their owners told; forged, unknown and real tokens
//! get the same answer; admins see per-token results; partner alerts need a
//! valid signature by a configured or published key; a reporter's full
//! verifications are limited per address; bounds are enforced.

use crate::both_backends;
use crate::support::smtp::{mailing_app, SmtpSink};
use crate::support::stub::Stub;
use crate::support::{token_id, wrong_secret, TestApp, TestDb, TOKEN_API_SCOPES};
use base64::Engine;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use patgate::tokens::RequestedLifetime;
use serde_json::{json, Value};

both_backends!(
    reported_tokens_are_revoked_and_owners_told,
    admins_see_what_each_report_did,
    partner_alerts_need_a_valid_signature,
    a_reporter_pays_for_full_verifications,
    a_flood_of_reports_is_refused,
);

const LEAKS: &str = "/api/leaked-tokens";

fn forged(kind: &str) -> String {
    let random = patgate::clock::random_alphanumeric(&patgate::clock::OsRandom, 65);
    patgate::tokens::format::with_checksum(&format!("{kind}_{}.{}", &random[..21], &random[21..]))
}

async fn post(app: &TestApp, body: &Value) -> (u16, Value) {
    let res = app
        .http
        .post(app.url(LEAKS))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn reported_tokens_are_revoked_and_owners_told(db: TestDb) {
    let sink = SmtpSink::start();
    let app = mailing_app(&db, &sink).await;
    let lifetime = RequestedLifetime::Default;
    let pat = app.issue("dana", "laptop", &["read"], lifetime).await;
    let gone = app.issue("dana", "old", &["read"], lifetime).await;
    app.revoke(&token_id(&gone), "dana").await;
    let untouched = app.issue("dana", "ci", &["read"], lifetime).await;

    let report = json!({
        "tokens": [pat, forged("pat"), wrong_secret(&untouched), "not a token", gone],
        "url": "https://github.com/acme/site/blob/main/.env",
        "source": "a person",
        "note": "found in a public repository",
    });
    let (status, body) = post(&app, &report).await;
    assert_eq!((status, body), (202, json!({"received": 5})));
    assert_eq!(app.exchange(&pat).await.status(), 400, "revoked");
    assert_eq!(
        app.exchange(&untouched).await.status(),
        200,
        "a wrong secret revokes nothing"
    );
    let events = app.blocking({
        let id = token_id(&pat);
        move |s| s.read(|tx| patgate::audit::for_token(tx.conn, &id, None, 10))
    });
    let revoked = events
        .await
        .unwrap()
        .events
        .into_iter()
        .find(|e| e.event == "revoked")
        .unwrap();
    assert_eq!(revoked.actor.as_deref(), Some("patgate:leak-report"));
    assert_eq!(revoked.details["reason"], "leaked");
    assert_eq!(
        revoked.details["url"],
        "https://github.com/acme/site/blob/main/.env"
    );
    assert_eq!(revoked.ip.as_deref(), Some("127.0.0.1"));

    let mut waited = 0;
    while sink.messages().is_empty() && waited < 50 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "the owner is told once");
    assert_eq!(messages[0].to, vec!["dana@example.test".to_string()]);
    assert!(
        messages[0]
            .data
            .contains("\"laptop\" leaked and was revoked"),
        "{}",
        messages[0].data
    );
    assert!(messages[0].data.contains("acme/site"));

    let real = app.issue("dana", "another", &["read"], lifetime).await;
    let for_real = post(&app, &json!({"tokens": [real]})).await;
    let for_forged = post(&app, &json!({"tokens": [forged("sat")]})).await;
    assert_eq!(
        for_real, for_forged,
        "the answer never says which tokens existed"
    );
}

async fn admins_see_what_each_report_did(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("root", "correct horse battery", true).await;
    let lifetime = RequestedLifetime::Default;
    let admin_pat = app
        .issue("root", "admin", &["patgate:admin"], lifetime)
        .await;
    let admin_jwt = app.jwt_for(&admin_pat).await;
    let pat = app.issue("erin", "laptop", &["read"], lifetime).await;
    let tokens = json!({"tokens": [pat, pat, forged("pat"), "x"]});
    let res = app
        .http
        .post(app.url(LEAKS))
        .bearer_auth(&admin_jwt)
        .json(&tokens)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let results: Value = res.json().await.unwrap();
    let got: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["revoked", "inactive", "unknown", "malformed"]);
    assert_eq!(results[0]["token"], format!("pat_{}", token_id(&pat)));
    assert!(!results.to_string().contains(&pat), "never the secret back");

    let user_pat = app.issue("erin", "api", &TOKEN_API_SCOPES, lifetime).await;
    let user_jwt = app.jwt_for(&user_pat).await;
    let res = app
        .http
        .post(app.url(LEAKS))
        .bearer_auth(&user_jwt)
        .json(&tokens)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "results are for admins");
    // An admin's token without the admin scope: insufficient_scope.
    let narrow = app
        .issue("root", "narrow", &TOKEN_API_SCOPES, lifetime)
        .await;
    let narrow_jwt = app.jwt_for(&narrow).await;
    let res = app
        .http
        .post(app.url(LEAKS))
        .bearer_auth(&narrow_jwt)
        .json(&tokens)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "the admin scope is needed, not only the role"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_scope", "{body}");
    let res = app
        .http
        .post(app.url(LEAKS))
        .bearer_auth("garbage")
        .json(&tokens)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let many: Vec<String> = (0..1001).map(|_| "x".to_string()).collect();
    assert_eq!(
        post(&app, &json!({"tokens": many})).await.0,
        400,
        "at most 1,000"
    );
    let huge = "x".repeat(300 * 1024);
    let res = app
        .http
        .post(app.url(LEAKS))
        .header("content-type", "application/json")
        .body(format!("{{\"tokens\": [\"{huge}\"]}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "bodies are bounded");
    assert_eq!(post(&app, &json!({"tokens": [], "extra": 1})).await.0, 400);
}

fn p256() -> (PKey<Private>, String) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let pem = String::from_utf8(key.public_key_to_pem().unwrap()).unwrap();
    (key, pem)
}

fn sign(key: &PKey<Private>, body: &[u8]) -> String {
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(signer.sign_oneshot_to_vec(body).unwrap())
}

async fn partner(
    app: &TestApp,
    body: &str,
    key_id: &str,
    signature: Option<String>,
) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url(LEAKS))
        .header("content-type", "application/json")
        .header("github-public-key-identifier", key_id)
        .body(body.to_string());
    if let Some(s) = signature {
        req = req.header("github-public-key-signature", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn partner_alerts_need_a_valid_signature(db: TestDb) {
    let (old_key, old_pem) = (p256().0, p256().1);
    let (key, pem) = p256();
    let (rotated, rotated_pem) = p256();
    let published =
        json!({"public_keys": [{"key_identifier": "k2", "key": rotated_pem, "is_current": true}]});
    let stub = Stub::start(vec![(
        200,
        vec![("content-type", "application/json")],
        Box::leak(published.to_string().into_boxed_str()),
    )]);
    let keys_url = stub.base.join("/meta/public_keys/secret_scanning").unwrap();
    let app = TestApp::start_with(&db, |t| {
        let leaks: toml::Table = toml::from_str(&format!(
            "partner_keys_url = \"{keys_url}\"\n[[partner_keys]]\nid = \"k1\"\npem = '''{pem}'''\n"
        ))
        .unwrap();
        t.insert("leaks".into(), leaks.into());
    })
    .await;
    drop((old_key, old_pem));
    let pat = app
        .issue("fay", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let fake = forged("pat");
    let body = json!([
        {"token": pat, "type": "patgate_pat", "url": "https://github.com/acme/x/commit/1", "source": "commit"},
        {"token": fake, "type": "patgate_pat", "url": "https://github.com/acme/x", "source": "content"},
    ])
    .to_string();

    assert_eq!(partner(&app, &body, "k1", None).await.0, 401, "unsigned");
    assert_eq!(
        partner(&app, &body, "k1", Some(sign(&rotated, body.as_bytes())))
            .await
            .0,
        401,
        "signed by another key"
    );
    assert_eq!(
        partner(&app, &body, "k1", Some(sign(&key, b"another body")))
            .await
            .0,
        401,
        "not this body"
    );
    assert_eq!(
        app.exchange(&pat).await.status(),
        200,
        "nothing revoked by refused alerts"
    );

    let (status, labels) = partner(&app, &body, "k1", Some(sign(&key, body.as_bytes()))).await;
    assert_eq!(status, 200);
    assert_eq!(
        labels,
        json!([
            {"token_raw": pat, "token_type": "patgate_pat", "label": "true_positive"},
            {"token_raw": fake, "token_type": "patgate_pat", "label": "false_positive"},
        ])
    );
    assert_eq!(app.exchange(&pat).await.status(), 400, "revoked");

    let other = app
        .issue("fay", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let body = json!([{"token": other, "type": "patgate_pat"}]).to_string();
    let (status, labels) = partner(&app, &body, "k2", Some(sign(&rotated, body.as_bytes()))).await;
    assert_eq!(
        (status, labels[0]["label"].clone()),
        (200, json!("true_positive")),
        "a rotated key, fetched by its id"
    );
    assert_eq!(
        partner(&app, &body, "k3", Some(sign(&rotated, body.as_bytes())))
            .await
            .0,
        401,
        "unknown key id"
    );
}

async fn a_reporter_pays_for_full_verifications(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let limits: toml::Table = toml::from_str("cold_exchanges_per_address = 2").unwrap();
        t.insert("limits".into(), limits.into());
    })
    .await;
    let mut pats = Vec::new();
    for i in 0..4 {
        pats.push(
            app.issue(
                "gus",
                &format!("t{i}"),
                &["read"],
                RequestedLifetime::Default,
            )
            .await,
        );
    }
    let mut tokens: Vec<String> = (0..50).map(|_| forged("pat")).collect();
    tokens.extend(pats.iter().cloned());
    let (status, _) = post(&app, &json!({"tokens": tokens})).await;
    assert_eq!(status, 429, "two tokens were left unchecked: no receipt");
    let mut revoked = 0;
    for pat in &pats {
        if app.exchange(pat).await.status() == 400 {
            revoked += 1;
        }
    }
    assert_eq!(
        revoked, 2,
        "forged ids cost no hash; two full verifications per address"
    );
}

async fn a_flood_of_reports_is_refused(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let limits: toml::Table = toml::from_str("anonymous_writes_per_address = 3").unwrap();
        t.insert("limits".into(), limits.into());
    })
    .await;
    let report = json!({"tokens": [forged("pat")]});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(post(&app, &report).await.0);
    }
    assert_eq!(
        statuses,
        [202, 202, 202, 429, 429],
        "reports are anonymous writes"
    );
}
