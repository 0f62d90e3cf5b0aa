//! Signing keys: rotation, EdDSA, the JWKS publication window, the master key.

use crate::both_backends;
use crate::support::{base_config, verify_jwt, TestApp, TestDb};
use chrono::Duration;
use patgate::app::{Services, StartError};
use patgate::config::Config;
use patgate::keys::KeyError;
use patgate::tokens::RequestedLifetime;
use serde_json::Value;

both_backends!(
    rotation_keeps_old_jwts_verifiable_until_they_expire,
    eddsa_keys_sign_verifiable_jwts,
    another_master_key_is_refused_at_start,
);

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

async fn rotation_keeps_old_jwts_verifiable_until_they_expire(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("heidi", "t", &[], RequestedLifetime::Default)
        .await;
    let old_jwt = app.exchange_ok(&pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kids = kids(&app.jwks().await);
    assert_eq!(old_kids.len(), 1);
    let new_kid = app
        .blocking(|s| {
            s.keys.rotate(
                &mut s.conn().unwrap(),
                s.random.as_ref(),
                s.now(),
                s.config.access_token_ttl.duration(),
            )
        })
        .await
        .unwrap();
    let new_jwt = app.exchange_ok(&pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks = app.jwks().await;
    assert_eq!(kids(&jwks), vec![new_kid.clone(), old_kids[0].clone()]);
    let iss = app.svc.config.issuer_id();
    verify_jwt(&old_jwt, &jwks, iss, iss).expect("old JWT verifies after rotation");
    let claims = verify_jwt(&new_jwt, &jwks, iss, iss).expect("new JWT verifies");
    assert_eq!(claims["sub"], "heidi");
    let header = jsonwebtoken::decode_header(&new_jwt).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    // Once every JWT the old key signed has expired, it leaves the JWKS.
    app.clock.advance(Duration::minutes(11));
    assert_eq!(
        kids(&app.jwks().await).len(),
        2,
        "still published within the window"
    );
    app.clock.advance(Duration::minutes(2));
    assert_eq!(kids(&app.jwks().await), vec![new_kid]);
}

async fn eddsa_keys_sign_verifiable_jwts(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("signing_algorithm".into(), "EdDSA".into());
    })
    .await;
    let pat = app
        .issue("ivan", "t", &["read"], RequestedLifetime::Default)
        .await;
    let jwt = app.exchange_ok(&pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks = app.jwks().await;
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let iss = app.svc.config.issuer_id();
    assert_eq!(verify_jwt(&jwt, &jwks, iss, iss).unwrap()["scope"], "read");
}

async fn another_master_key_is_refused_at_start(db: TestDb) {
    let app = TestApp::start(&db).await;
    let mut table = base_config(&db);
    table.insert(
        "master_key".into(),
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=".into(),
    );
    let config = Config::from_table(table).unwrap();
    let result = app
        .blocking(move |_| Services::open(config).map(|_| ()))
        .await;
    match result {
        Err(StartError::Keys(e @ KeyError::WrongMasterKey)) => {
            assert!(e.to_string().contains("PATGATE_MASTER_KEY"));
        }
        other => panic!("expected WrongMasterKey, got {other:?}"),
    }
}
