//! Several instances on one database behave as one.

use crate::both_backends;
use crate::support::{assert_oauth_error, base_config, token_id, verify_jwt, TestApp, TestDb};
use patgate::app::Services;
use patgate::config::Config;
use patgate::tokens::RequestedLifetime;

both_backends!(
    revocation_on_one_instance_holds_at_the_next_exchange_on_another,
    instances_starting_together_agree_on_one_signing_key,
);

async fn revocation_on_one_instance_holds_at_the_next_exchange_on_another(db: TestDb) {
    let a = TestApp::start(&db).await;
    let b = TestApp::start(&db).await;
    let pat = a
        .issue("judy", "shared", &["read"], RequestedLifetime::Default)
        .await;
    // B verifies (and caches) the secret; both sign with the one shared key.
    let jwt = b.exchange_ok(&pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    b.exchange_ok(&pat).await;
    let iss = b.svc.config.issuer_id();
    verify_jwt(&jwt, &a.jwks().await, iss, iss).expect("A publishes the key B signs with");
    let id = token_id(&pat);
    a.revoke(&id, "admin-on-a").await;
    assert_oauth_error(b.exchange(&pat).await, 400, "invalid_grant").await;
    assert_oauth_error(a.exchange(&pat).await, 400, "invalid_grant").await;
}

async fn instances_starting_together_agree_on_one_signing_key(db: TestDb) {
    let configs: Vec<Config> = (0..3)
        .map(|_| Config::from_table(base_config(&db)).unwrap())
        .collect();
    let handles: Vec<_> = configs
        .into_iter()
        .map(|c| std::thread::spawn(move || Services::open(c).expect("instance starts")))
        .collect();
    let services: Vec<Services> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let kids: Vec<String> = services
        .iter()
        .map(|s| s.keys.active(&mut s.conn().unwrap()).unwrap().kid.clone())
        .collect();
    assert!(
        kids.windows(2).all(|w| w[0] == w[1]),
        "one active key: {kids:?}"
    );
    let jwks = services[0].jwks().unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}
