//! The callers of the table, and a fresh set of tokens for each cell, so no
//! cell depends on another's change.

use super::{personal_token, service_token, Body, Route};
use crate::dpop::{random_jti, token_url, Key};
use crate::holes_tokens::compat_admin_jwt;
use crate::support::browser::signed_in;
use crate::support::browser::{location, Browser};
use crate::support::token_id;
use crate::support::TestApp;
use patgate::tokens::format::TokenKind;
use patgate::tokens::IssueRequest;

/// The resource server the resource-JWT column's token is limited to.
pub const RESOURCE: &str = "https://orders.example.com";

/// The scopes of the person's full-management columns.
const TOKENS_ALL: &[&str] = &[
    "read",
    "patgate:tokens:read",
    "patgate:tokens:write",
    "patgate:tokens:revoke",
];

/// Every caller's credentials, made once.
pub struct Callers {
    person: (Browser, String),
    admin: (Browser, String),
    jwts: [String; 6],
    /// alice's DPoP-bound JWT and the key that proves it (column 10).
    bound: (String, Key),
    /// alice's JWT for [`RESOURCE`] (column 11).
    resource: String,
    /// An ID token for alice, signed with patgate's own key (column 12).
    id_token: String,
}

/// The JWT columns, in order: (owner, scopes).
const JWT_COLUMNS: [(usize, &str, &[&str]); 6] = [
    (3, "alice", &["read"]),
    (4, "alice", &["read", "patgate:tokens:read"]),
    (5, "alice", TOKENS_ALL),
    (7, "root", &["read", "patgate:tokens:read"]),
    (8, "root", &["read", "patgate:admin"]),
    (9, "", &[]),
];

impl Callers {
    /// alice (a person), root (an administrator), bob (a user to offboard),
    /// their tokens' JWTs, and an `@access-tokens` admin's.
    pub async fn new(app: &TestApp) -> Callers {
        let person = signed_in(app, "alice", false).await;
        let admin = signed_in(app, "root", true).await;
        app.add_user("bob", "correct horse battery", false).await;
        let mut jwts: [String; 6] = Default::default();
        for (i, (_, owner, scopes)) in JWT_COLUMNS.iter().enumerate() {
            jwts[i] = if owner.is_empty() {
                compat_admin_jwt(app).await
            } else {
                let name = format!("caller-{i}");
                let pat = app
                    .issue(
                        owner,
                        &name,
                        scopes,
                        patgate::tokens::RequestedLifetime::Default,
                    )
                    .await;
                app.jwt_for(&pat).await
            };
        }
        Callers {
            person,
            admin,
            jwts,
            bound: bound_jwt(app).await,
            resource: resource_jwt(app).await,
            id_token: id_token(app).await,
        }
    }

    fn jwt(&self, column: usize) -> Option<&str> {
        match column {
            10 => Some(&self.bound.0),
            11 => Some(&self.resource),
            12 => Some(&self.id_token),
            _ => JWT_COLUMNS
                .iter()
                .position(|(c, _, _)| *c == column)
                .map(|i| self.jwts[i].as_str()),
        }
    }

    /// The browser and (when it sends one) CSRF token of a session column.
    fn session(&self, column: usize) -> Option<(&Browser, Option<&str>)> {
        match column {
            1 => Some((&self.person.0, None)),
            2 => Some((&self.person.0, Some(&self.person.1))),
            6 => Some((&self.admin.0, Some(&self.admin.1))),
            _ => None,
        }
    }
}

/// The subject whose "own" tokens a column's caller reaches.
fn subject(column: usize) -> &'static str {
    if (6..=8).contains(&column) {
        "root"
    } else {
        "alice"
    }
}

/// One cell's fresh tokens and pending requests.
pub struct Cell {
    mine: String,
    svc: String,
    revoked: String,
    consent: String,
    user_code: String,
}

impl Cell {
    /// Fresh tokens for the cell: the caller's own, a service token, a
    /// revoked service token, bob's; and a consent or device request when
    /// the route needs one.
    pub async fn prepare(app: &TestApp, _: &Callers, column: usize, path: &str) -> Cell {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let mine = token_id(&personal_token(app, subject(column), &format!("mine-{n}")).await);
        let svc = token_id(&service_token(app, &format!("svc-{n}")).await);
        let revoked = token_id(&service_token(app, &format!("old-{n}")).await);
        app.revoke(&revoked, "setup").await;
        // A cell before may have disabled bob.
        app.blocking(|s| {
            let who = patgate::policy::Principal::operator("setup");
            s.write(|tx| patgate::accounts::set_disabled(tx, &who, "bob", false))
        })
        .await
        .unwrap();
        personal_token(app, "bob", &format!("bobs-{n}")).await;
        let mut cell = Cell {
            mine,
            svc,
            revoked,
            consent: String::new(),
            user_code: String::new(),
        };
        if path == "{consent}" {
            let client = crate::support::browser::cli_client(
                app,
                "patgate-cli",
                crate::support::browser::LOOPBACK_REDIRECT,
            );
            let (url, _, _) = crate::support::browser::authorize_url(&client, &["read"]);
            let res = app.http.get(url.as_str()).send().await.unwrap();
            cell.consent = location(&res).path().to_string();
        }
        if path == "/device" {
            let started = crate::device_grant::start(app).await;
            cell.user_code = started["user_code"].as_str().unwrap().to_string();
        }
        cell
    }

    /// Calls `route` as the caller of `column`; the status.
    pub async fn call(
        &self,
        app: &TestApp,
        callers: &Callers,
        column: usize,
        route: &Route,
    ) -> u16 {
        let path = route
            .path
            .replace("{consent}", &self.consent)
            .replace("{mine}", &self.mine)
            .replace("{svc}", &self.svc)
            .replace("{revoked}", &self.revoked);
        let (http, csrf) = match callers.session(column) {
            Some((browser, csrf)) => (&browser.http, csrf),
            None => (&app.http, None),
        };
        let url = app.url(&path);
        let mut req = http.request(route.method.clone(), url.clone());
        match callers.jwt(column) {
            Some(jwt) if column == 10 => {
                let (method, htu) = (route.method.as_str(), url.as_str());
                let proof = callers.bound.1.resource_proof(app, method, htu, jwt);
                req = req
                    .header("authorization", format!("DPoP {jwt}"))
                    .header("dpop", proof);
            }
            Some(jwt) => req = req.bearer_auth(jwt),
            None => {}
        }
        req = match &route.body {
            Body::None => req,
            Body::Json(v) => {
                let unique = uuid::Uuid::new_v4().simple().to_string();
                let text = v.to_string().replace("{n}", &unique);
                req.header("content-type", "application/json").body(text)
            }
            Body::Form(fields) => {
                let mut form: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| match *v {
                        "{user_code}" => (*k, self.user_code.as_str()),
                        "{n}" => (*k, self.mine.as_str()),
                        v => (*k, v),
                    })
                    .collect();
                if let Some(csrf) = csrf {
                    form.push(("csrf", csrf));
                }
                req.form(&form)
            }
        };
        if let (Some(csrf), false) = (csrf, matches!(route.body, Body::Form(_))) {
            req = req.header("x-csrf-token", csrf);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

/// alice's JWT bound to a fresh key (RFC 9449), and the key.
async fn bound_jwt(app: &TestApp) -> (String, Key) {
    let key = Key::new();
    let pat = app
        .issue_request(IssueRequest {
            dpop_jkt: Some(key.thumbprint()),
            ..IssueRequest::new(TokenKind::Personal, "alice", "bound", scopes(TOKENS_ALL))
        })
        .await;
    let proof = key.proof(app, "POST", &token_url(app), 0, &random_jti());
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .header("DPoP", proof)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &pat)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    (body["access_token"].as_str().unwrap().to_string(), key)
}

/// alice's JWT minted for [`RESOURCE`] (RFC 8707), with every token scope.
async fn resource_jwt(app: &TestApp) -> String {
    let pat = app
        .issue_request(IssueRequest {
            resources: vec![RESOURCE.into()],
            ..IssueRequest::new(TokenKind::Personal, "alice", "orders", scopes(TOKENS_ALL))
        })
        .await;
    app.jwt_for(&pat).await
}

/// An OpenID Connect ID token for alice with patgate's issuer and audience,
/// signed by patgate's active key: the worst case of a token of another kind.
async fn id_token(app: &TestApp) -> String {
    let now = app.svc.now().timestamp();
    let claims = serde_json::json!({
        "iss": app.svc.config.issuer_id(), "sub": "alice", "aud": app.svc.config.audience(),
        "iat": now, "exp": now + 600, "auth_time": now, "nonce": "n",
    });
    app.signed_by_patgate(patgate::keys::JwtType::Jwt, claims)
        .await
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
