//! Every credential through one door (RFC 8725 §3.11–3.12): the attacks of
//! issue #20 performed as described, each asserting the refusal and that
//! nothing changed. A service-token writer cannot become an
//! `@access-tokens` administrator with a DPoP-bound or resource JWT whose
//! `sub` names an admin token; a user named after a token id gets nothing
//! from it; a JWT shaped like an ID token or a compatible JWT is no
//! credential at the management API.

use crate::both_backends;
use crate::dpop::{random_jti, token_url, Key};
use crate::holes_tokens::bearer;
use crate::support::browser::signed_in;
use crate::support::{token_id, TestApp, TestDb};
use patgate::keys::JwtType;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    a_service_token_writer_cannot_become_a_compat_admin,
    a_user_named_after_a_token_gets_nothing_from_it,
    jwts_of_other_shapes_open_no_door,
    an_operation_sees_what_committed_before_it,
);

const ORDERS: &str = "https://orders.example.com";

/// The issue's set-up: the default config plus a role `ci-operators` and
/// two resources.
pub(crate) async fn attacked_app(db: &TestDb) -> TestApp {
    TestApp::start_with(db, |t| {
        let extra: toml::Table = toml::from_str(&format!(
            "[access.roles]\n\"ci-operators\" = [\"access-tokens:service:read\", \"access-tokens:service:write\"]\n\
             [[resources]]\naudience = \"{ORDERS}\"\ndescription = \"Orders\"\n\
             [[resources]]\naudience = \"https://billing.example.com\"\ndescription = \"Billing\"\n"
        ))
        .unwrap();
        for (k, v) in extra {
            t.insert(k, v);
        }
    })
    .await
}

/// An `@access-tokens` admin token (`isAdmin`) and its id.
async fn admin_token(app: &TestApp) -> String {
    token_id(&crate::compat_api::admin_pat(app).await)
}

/// What an attack must leave as it was: every token's id, owner, admin
/// flag and revocation.
async fn snapshot(app: &TestApp) -> Vec<(String, String, bool, bool)> {
    let mut all: Vec<_> = app
        .all_tokens()
        .await
        .into_iter()
        .map(|t| (t.id, t.owner, t.is_admin, t.revoked_at.is_some()))
        .collect();
    all.sort();
    all
}

async fn compat_attempts(app: &TestApp, jwt: &str, victim: &str) -> Vec<u16> {
    let list = "/admin/tokens?includeSecretPhc=true";
    let issue = json!({"owner": "mallory", "isAdmin": true});
    let revoke = format!("/admin/tokens/{victim}/revoke");
    vec![
        bearer(app, Method::GET, list, jwt, None).await.0,
        bearer(app, Method::POST, "/admin/tokens", jwt, Some(issue))
            .await
            .0,
        bearer(app, Method::PUT, &revoke, jwt, Some(json!({})))
            .await
            .0,
    ]
}

async fn a_service_token_writer_cannot_become_a_compat_admin(db: TestDb) {
    let app = attacked_app(&db).await;
    let admin_id = admin_token(&app).await;
    let bobs = app
        .issue("bob", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let (carol, csrf) = signed_in(&app, "carol", false).await;
    app.blocking(|s| {
        let who = patgate::policy::Principal::operator("test");
        patgate::accounts::set_roles(s, &who, "carol", &["ci-operators".to_string()])
    })
    .await
    .unwrap();
    // carol creates a DPoP-bound service token owned by the admin token's id.
    let key = Key::new();
    let body = json!({"name": "sneaky", "owner": admin_id, "scopes": ["read"], "dpopJkt": key.thumbprint()});
    let res = carol
        .http
        .post(app.url("/api/access-tokens/service"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "carol may write service tokens");
    let created: Value = res.json().await.unwrap();
    let sat = created["rawToken"].as_str().unwrap().to_string();
    let proof = key.proof(&app, "POST", &token_url(&app), 0, &random_jti());
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .header("DPoP", proof)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &sat)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let jwt = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(crate::support::jwt_claims(&jwt)["sub"], admin_id.as_str());
    let before = snapshot(&app).await;
    let statuses = compat_attempts(&app, &jwt, &token_id(&bobs)).await;
    assert_eq!(
        statuses,
        [401, 401, 401],
        "a DPoP-bound JWT is no compat credential"
    );
    assert_eq!(snapshot(&app).await, before, "nothing changed");
    assert_eq!(app.exchange(&bobs).await.status(), 200, "bob's token lives");
}

async fn a_user_named_after_a_token_gets_nothing_from_it(db: TestDb) {
    let app = attacked_app(&db).await;
    let admin_id = admin_token(&app).await;
    let bobs = app
        .issue("bob", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    app.add_user(&admin_id, "correct horse battery", false)
        .await;
    let pat = app
        .issue_request(IssueRequest {
            resources: vec![ORDERS.into()],
            ..IssueRequest::new(TokenKind::Personal, &admin_id, "r", vec!["read".into()])
        })
        .await;
    let resource_jwt = app.jwt_for(&pat).await;
    assert_eq!(crate::support::jwt_claims(&resource_jwt)["aud"], ORDERS);
    let plain = app
        .issue(&admin_id, "plain", &["read"], RequestedLifetime::Default)
        .await;
    let plain_jwt = app.jwt_for(&plain).await;
    let before = snapshot(&app).await;
    let victim = token_id(&bobs);
    assert_eq!(
        compat_attempts(&app, &resource_jwt, &victim).await,
        [401, 401, 401],
        "a resource's JWT opens no patgate door"
    );
    assert_eq!(
        compat_attempts(&app, &plain_jwt, &victim).await,
        [403, 403, 403],
        "patgate's own JWT acts for its owner, a user, not for a token"
    );
    let own = "/api/access-tokens/personal";
    assert_eq!(
        bearer(&app, Method::GET, own, &resource_jwt, None).await.0,
        401
    );
    assert_eq!(snapshot(&app).await, before, "nothing changed");
    // The compatible exchange keeps the resource limit: no unlimited JWT.
    let res = crate::compat_api::exchange(&app, &pat).await;
    assert_eq!(
        res.status(),
        400,
        "a resource-limited token gets no compat JWT"
    );
}

async fn jwts_of_other_shapes_open_no_door(db: TestDb) {
    let app = attacked_app(&db).await;
    let admin_pat = crate::compat_api::admin_pat(&app).await;
    let admin_id = token_id(&admin_pat);
    app.add_user(&admin_id, "correct horse battery", true).await;
    let compat_jwt = crate::compat_api::jwt(&app, &admin_pat).await;
    let now = app.svc.now().timestamp();
    let iss = app.svc.config.issuer_id().to_string();
    let aud = app.svc.config.audience().to_string();
    // An ID token for the admin-named user (OpenID Connect Core §2).
    let id_token = json!({"iss": iss, "sub": admin_id, "aud": aud, "iat": now, "exp": now + 300, "nonce": "n", "auth_time": now});
    let id_token = app.signed_by_patgate(JwtType::Jwt, id_token).await;
    // A compatible JWT dressed as an access token, and the reverse.
    let compat_as_at = json!({"iss": iss, "sub": admin_id, "owner": "ops", "admin": true, "roles": [], "iat": now, "exp": now + 300});
    let compat_as_at = app
        .signed_by_patgate(JwtType::AccessToken, compat_as_at)
        .await;
    let at_as_jwt = json!({"iss": iss, "sub": admin_id, "aud": aud, "token_id": admin_id, "scope": "patgate:admin", "owner": "ops", "admin": true, "iat": now, "exp": now + 300});
    let at_as_jwt = app.signed_by_patgate(JwtType::Jwt, at_as_jwt).await;
    let before = snapshot(&app).await;
    for (what, jwt) in [
        ("an ID token", &id_token),
        ("compat claims as at+jwt", &compat_as_at),
        ("access claims as JWT", &at_as_jwt),
    ] {
        assert_eq!(
            compat_attempts(&app, jwt, &admin_id).await,
            [401, 401, 401],
            "{what} at the compatible API"
        );
        let services = "/api/access-tokens/service";
        assert_eq!(
            bearer(&app, Method::GET, services, jwt, None).await.0,
            401,
            "{what} at the management API"
        );
    }
    let own = "/api/access-tokens/personal";
    assert_eq!(
        bearer(&app, Method::GET, own, &compat_jwt, None).await.0,
        401,
        "the compatible JWT is for the compatible API only"
    );
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}

/// The principal an extractor resolved is confirmed inside the operation's
/// own transaction (kanidm's `proxy_write` shape): a revocation or a
/// disabled account that committed in between is what the operation sees.
async fn an_operation_sees_what_committed_before_it(db: TestDb) {
    use patgate::credential::{self, Credential, Door};
    use patgate::error::OpError;
    use patgate::policy::{Origin, Principal};
    let app = TestApp::start(&db).await;
    app.add_user("alice", "correct horse battery", false).await;
    let (pat, jwt) = app.token_api_jwt("alice", "cli").await;
    let url = app.url("/api/access-tokens/personal");
    let resolved = app
        .blocking(move |s| {
            let how = patgate::oauth::dpop::Presentation {
                dpop_scheme: false,
                proof: None,
                method: "POST",
                url: &url,
            };
            let credential = Credential::Jwt { jwt: &jwt, how };
            s.read(|tx| {
                credential::resolve(tx, Door::ManagementApi, &credential, Origin::default())
            })
        })
        .await
        .unwrap()
        .expect("the JWT resolves");
    app.revoke(&token_id(&pat), "alice").await;
    let before = app.all_tokens().await.len();
    let who = resolved.clone();
    let issued = app
        .blocking(move |s| {
            let req = IssueRequest::new(
                TokenKind::Personal,
                "alice",
                "late",
                vec!["patgate:tokens:read".into()],
            );
            patgate::tokens::issue(s, &who, req).map(|_| ())
        })
        .await;
    assert!(
        matches!(issued, Err(OpError::Unauthenticated)),
        "{issued:?}"
    );
    assert_eq!(app.all_tokens().await.len(), before, "nothing was created");

    // A session whose person is disabled in between.
    let session = app
        .blocking(|s| s.read(|tx| patgate::principal::for_session(tx, "alice", Origin::default())))
        .await
        .unwrap()
        .expect("alice is enabled");
    let other = app
        .issue("alice", "other", &["read"], RequestedLifetime::Default)
        .await;
    app.blocking(|s| {
        let root = Principal::operator("test");
        s.write(|tx| patgate::accounts::set_disabled(tx, &root, "alice", true))
    })
    .await
    .unwrap();
    let id = token_id(&other);
    let revoked = app
        .blocking(move |s| {
            patgate::principal::act(s, &session, |tx, who| {
                patgate::tokens::revoke(tx, who, &id, patgate::tokens::Lookup::Own, None)
            })
        })
        .await;
    assert!(
        matches!(revoked, Err(OpError::Unauthenticated)),
        "{revoked:?}"
    );
    assert!(app.record(&token_id(&other)).await.revoked_at.is_none());
}
