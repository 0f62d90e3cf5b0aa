//! The Rust client library: JWT caching and renewal, retries with backoff
//! that honour `Retry-After` (against a scripted local server), typed
//! errors, and the resource-server verifier (JWKS cached, fetched again for
//! an unknown `kid`; `typ`, `iss`, `aud`, `exp` checked).

use crate::both_backends;
use crate::support::stub::Stub;
use crate::support::{TestApp, TestDb};
use patgate::client::{ClientError, DpopKey, JwtVerifier, PatClient, RetryPolicy, VerifyError};
use patgate::secret::SecretString;
use patgate::tokens::RequestedLifetime;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_backends!(
    the_client_acts_with_a_pat_against_patgate,
    the_verifier_follows_key_rotation_and_checks_claims,
    the_client_and_the_verifier_speak_dpop,
);

fn recording_policy(base_ms: u64) -> (RetryPolicy, Arc<Mutex<Vec<Duration>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let policy = RetryPolicy {
        base: Duration::from_millis(base_ms),
        cap: Duration::from_secs(30),
        retries: 3,
        observer: Some(Arc::new(move |_, d| log.lock().unwrap().push(d))),
    };
    (policy, seen)
}

#[actix_web::test]
async fn retries_back_off_and_honour_retry_after() {
    let stub = Stub::start(vec![
        (429, vec![("retry-after", "1")], r#"{"error":"slow_down"}"#),
        (503, vec![], "{}"),
        (
            200,
            vec![],
            r#"{"access_token":"jwt-1","token_type":"Bearer","expires_in":3600}"#,
        ),
    ]);
    let (policy, delays) = recording_policy(10);
    let client = PatClient::with_retry(stub.base.clone(), SecretString::new("pat_x"), policy);
    assert_eq!(client.access_token().await.unwrap(), "jwt-1");
    assert_eq!(stub.hits(), 3);
    assert_eq!(
        *delays.lock().unwrap(),
        vec![Duration::from_secs(1), Duration::from_millis(20)]
    );

    let down = Stub::start(vec![(503, vec![], "{}")]);
    let (policy, delays) = recording_policy(5);
    let client = PatClient::with_retry(down.base.clone(), SecretString::new("pat_x"), policy);
    let err = client.access_token().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(down.hits(), 4, "one try and three retries");
    let ms: Vec<u128> = delays
        .lock()
        .unwrap()
        .iter()
        .map(Duration::as_millis)
        .collect();
    assert_eq!(ms, vec![5, 10, 20], "doubling");

    let refused = Stub::start(vec![(
        400,
        vec![],
        r#"{"error":"invalid_grant","error_description":"no"}"#,
    )]);
    let client = PatClient::new(refused.base.clone(), SecretString::new("pat_x"));
    assert!(
        matches!(client.access_token().await, Err(ClientError::TokenRefused { ref error, .. }) if error == "invalid_grant")
    );
    assert_eq!(refused.hits(), 1, "a refusal is not retried");
}

#[actix_web::test]
async fn the_jwt_is_cached_and_renewed_30_seconds_before_expiry() {
    let stub = Stub::start(vec![
        (
            200,
            vec![],
            r#"{"access_token":"first","token_type":"Bearer","expires_in":31}"#,
        ),
        (
            200,
            vec![],
            r#"{"access_token":"second","token_type":"Bearer","expires_in":3600}"#,
        ),
    ]);
    let client = PatClient::new(stub.base.clone(), SecretString::new("pat_x"));
    assert_eq!(client.access_token().await.unwrap(), "first");
    assert_eq!(client.access_token().await.unwrap(), "first", "cached");
    assert_eq!(stub.hits(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        client.access_token().await.unwrap(),
        "second",
        "renewed 30 s before expiry"
    );
    assert_eq!(client.access_token().await.unwrap(), "second");
    assert_eq!(stub.hits(), 2);
}

async fn the_client_acts_with_a_pat_against_patgate(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "ci",
            &["read", "patgate:tokens:read"],
            RequestedLifetime::Default,
        )
        .await;
    let client = PatClient::new(app.base.clone(), SecretString::new(&pat));
    let list = client
        .call(reqwest::Method::GET, "/api/access-tokens/personal", None)
        .await
        .unwrap();
    assert_eq!(list["tokens"][0]["name"], "ci");
    let missing = client
        .call(
            reqwest::Method::GET,
            "/api/access-tokens/personal/nope",
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ClientError::Api { status: 404, .. }),
        "{missing}"
    );
    let id = crate::support::token_id(&pat);
    app.revoke(&id, "test").await;
    let fresh = PatClient::new(app.base.clone(), SecretString::new(&pat));
    assert!(matches!(
        fresh.access_token().await,
        Err(ClientError::TokenRefused { .. })
    ));
}

async fn the_verifier_follows_key_rotation_and_checks_claims(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let issuer = url::Url::parse(app.svc.config.issuer_id()).unwrap();
    let verifier =
        JwtVerifier::new(&issuer, app.svc.config.audience()).with_refetch_after(Duration::ZERO);
    let first = access_token(&app, &pat).await;
    let claims = verifier.verify(&first).await.unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["scope"].as_str()),
        (Some("alice"), Some("read"))
    );

    app.blocking(|s| {
        s.keys.rotate(
            &mut s.conn().unwrap(),
            s.random.as_ref(),
            s.now(),
            s.config.access_token_ttl.duration(),
        )
    })
    .await
    .unwrap();
    let second = access_token(&app, &pat).await;
    assert_ne!(
        josekit::jwt::decode_header(&first).unwrap().claim("kid"),
        josekit::jwt::decode_header(&second).unwrap().claim("kid")
    );
    verifier
        .verify(&second)
        .await
        .expect("an unknown kid fetches the JWKS again");
    verifier
        .verify(&first)
        .await
        .expect("the old key stays published");

    let elsewhere = JwtVerifier::new(&issuer, "https://other.example");
    assert_eq!(
        elsewhere.verify(&first).await.unwrap_err(),
        VerifyError::WrongAudience
    );
    let mut tampered = first.clone();
    tampered.replace_range(first.len() - 4.., "AAAA");
    assert_eq!(
        verifier.verify(&tampered).await.unwrap_err(),
        VerifyError::BadSignature
    );
    assert_eq!(
        verifier.verify("nonsense").await.unwrap_err(),
        VerifyError::Malformed
    );
    let compat = crate::compat_api::exchange(&app, &pat).await;
    let compat: serde_json::Value = compat.json().await.unwrap();
    assert_eq!(
        verifier
            .verify(compat["access_token"].as_str().unwrap())
            .await
            .unwrap_err(),
        VerifyError::WrongType
    );
    app.clock.advance(chrono::Duration::hours(-2));
    let old = access_token(&app, &pat).await;
    assert_eq!(
        verifier.verify(&old).await.unwrap_err(),
        VerifyError::Expired
    );
}

async fn access_token(app: &TestApp, pat: &str) -> String {
    app.exchange_ok(pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn the_client_and_the_verifier_speak_dpop(db: TestDb) {
    let app = TestApp::start(&db).await;
    let key = DpopKey::generate().unwrap();
    let scopes = vec!["read".to_string(), "patgate:tokens:read".to_string()];
    let pat = app
        .issue_request(patgate::tokens::IssueRequest {
            dpop_jkt: Some(key.thumbprint().to_string()),
            ..patgate::tokens::IssueRequest::new(
                patgate::tokens::format::TokenKind::Personal,
                "alice",
                "bound",
                scopes,
            )
        })
        .await;
    let without = PatClient::new(app.base.clone(), SecretString::new(&pat));
    assert!(matches!(
        without.access_token().await,
        Err(ClientError::TokenRefused { .. })
    ));
    let again = DpopKey::from_jwk(&key.to_private_jwk()).unwrap();
    let client = PatClient::new(app.base.clone(), SecretString::new(&pat)).with_dpop_key(again);
    let list = client
        .call(reqwest::Method::GET, "/api/access-tokens/personal", None)
        .await
        .unwrap();
    assert_eq!(
        list["tokens"][0]["dpopJkt"],
        key.thumbprint(),
        "patgate's API took the proof"
    );

    let jwt = client.access_token().await.unwrap();
    let issuer = url::Url::parse(app.svc.config.issuer_id()).unwrap();
    let verifier = JwtVerifier::new(&issuer, app.svc.config.audience());
    assert!(
        matches!(verifier.verify(&jwt).await, Err(VerifyError::Proof(_))),
        "not as Bearer"
    );
    let resource = url::Url::parse("https://api.example.com/orders?page=2").unwrap();
    let proof = key.proof("GET", &resource, Some(&jwt)).unwrap();
    let how = patgate::oauth::dpop::Presentation {
        dpop_scheme: true,
        proof: Some(&proof),
        method: "GET",
        url: &resource,
    };
    let claims = verifier.verify_request(&jwt, &how).await.unwrap();
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint());
    assert!(
        matches!(
            verifier.verify_request(&jwt, &how).await,
            Err(VerifyError::Proof(_))
        ),
        "replayed"
    );
    let elsewhere = url::Url::parse("https://api.example.com/admin").unwrap();
    let wrong = key.proof("GET", &resource, Some(&jwt)).unwrap();
    let how = patgate::oauth::dpop::Presentation {
        url: &elsewhere,
        proof: Some(&wrong),
        ..how
    };
    assert!(
        matches!(
            verifier.verify_request(&jwt, &how).await,
            Err(VerifyError::Proof(_))
        ),
        "another URL"
    );
    let other_key = DpopKey::generate().unwrap();
    let foreign = other_key.proof("GET", &resource, Some(&jwt)).unwrap();
    let how = patgate::oauth::dpop::Presentation {
        url: &resource,
        proof: Some(&foreign),
        ..how
    };
    assert!(
        matches!(
            verifier.verify_request(&jwt, &how).await,
            Err(VerifyError::Proof(_))
        ),
        "another key"
    );
}
