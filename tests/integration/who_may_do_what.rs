//! Who may do what: every management route × every kind of caller, each
//! cell's status asserted. The table is the documented model: the README's
//! "Who may do what" shows it as [`render`] prints it.

use crate::both_backends;
use crate::support::{TestApp, TestDb};
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use reqwest::Method;
use serde_json::json;

both_backends!(every_route_answers_every_caller_as_documented);

/// The callers, as the table's columns.
const CALLERS: [&str; 13] = [
    "none",
    "session, no CSRF",
    "person",
    "person's JWT `read`",
    "person's JWT `tokens:read`",
    "person's JWT `tokens:*`",
    "admin",
    "admin's JWT `tokens:read`",
    "admin's JWT `admin`",
    "`isAdmin` compat JWT",
    "person's DPoP-bound JWT `tokens:*`",
    "person's resource JWT `tokens:*`",
    "ID token",
];

/// A route: how it is called, and the status each caller gets.
struct Route {
    what: &'static str,
    method: Method,
    path: &'static str,
    body: Body,
    expected: [u16; 13],
}

enum Body {
    None,
    Json(serde_json::Value),
    Form(&'static [(&'static str, &'static str)]),
}

fn routes() -> Vec<Route> {
    use Method as M;
    let json = |v: serde_json::Value| Body::Json(v);
    let r = |what, method, path, body, expected| Route {
        what,
        method,
        path,
        body,
        expected,
    };
    vec![
        r(
            "list own tokens",
            M::GET,
            "/api/access-tokens/personal",
            Body::None,
            [
                401, 200, 200, 403, 200, 200, 200, 200, 200, 401, 200, 401, 401,
            ],
        ),
        r(
            "create own token",
            M::POST,
            "/api/access-tokens/personal",
            json(json!({"name": "{n}", "scopes": ["read"]})),
            [
                401, 403, 201, 403, 403, 201, 201, 403, 201, 401, 201, 401, 401,
            ],
        ),
        r(
            "read own token",
            M::GET,
            "/api/access-tokens/personal/{mine}",
            Body::None,
            [
                401, 200, 200, 403, 200, 200, 200, 200, 200, 401, 200, 401, 401,
            ],
        ),
        r(
            "regenerate own token",
            M::POST,
            "/api/access-tokens/personal/{mine}/rotate",
            json(json!({})),
            [
                401, 403, 200, 403, 403, 200, 200, 403, 200, 401, 200, 401, 401,
            ],
        ),
        r(
            "own token's audit",
            M::GET,
            "/api/access-tokens/personal/{mine}/audit",
            Body::None,
            [
                401, 200, 200, 403, 200, 200, 200, 200, 200, 401, 200, 401, 401,
            ],
        ),
        r(
            "revoke own token",
            M::DELETE,
            "/api/access-tokens/personal/{mine}",
            Body::None,
            [
                401, 403, 204, 403, 403, 204, 204, 403, 204, 401, 204, 401, 401,
            ],
        ),
        r(
            "list service tokens",
            M::GET,
            "/api/access-tokens/service",
            Body::None,
            [
                401, 403, 403, 403, 403, 403, 200, 403, 200, 401, 403, 401, 401,
            ],
        ),
        r(
            "create service token",
            M::POST,
            "/api/access-tokens/service",
            json(json!({"name": "{n}", "owner": "ci", "scopes": ["read"]})),
            [
                401, 403, 403, 403, 403, 403, 201, 403, 201, 401, 403, 401, 401,
            ],
        ),
        r(
            "read service token",
            M::GET,
            "/api/access-tokens/service/{svc}",
            Body::None,
            [
                401, 403, 403, 403, 403, 403, 200, 403, 200, 401, 403, 401, 401,
            ],
        ),
        r(
            "service token's audit",
            M::GET,
            "/api/access-tokens/service/{svc}/audit",
            Body::None,
            [
                401, 403, 403, 403, 403, 403, 200, 403, 200, 401, 403, 401, 401,
            ],
        ),
        r(
            "revoke service token",
            M::DELETE,
            "/api/access-tokens/service/{svc}",
            Body::None,
            [
                401, 403, 403, 403, 403, 403, 204, 403, 204, 401, 403, 401, 401,
            ],
        ),
        r(
            "restore service token",
            M::POST,
            "/api/access-tokens/service/{revoked}/restore",
            Body::None,
            [
                401, 403, 403, 403, 403, 403, 200, 403, 200, 401, 403, 401, 401,
            ],
        ),
        r(
            "scope catalogue",
            M::GET,
            "/api/access-tokens/service/scopes",
            Body::None,
            [
                401, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200, 401, 401,
            ],
        ),
        r(
            "revoke all of a user",
            M::POST,
            "/api/access-tokens/users/bob/revoke-all",
            Body::None,
            [
                401, 403, 403, 403, 403, 403, 200, 403, 200, 401, 403, 401, 401,
            ],
        ),
        r(
            "compat: list",
            M::GET,
            "/admin/tokens",
            Body::None,
            [
                401, 401, 401, 403, 403, 403, 401, 403, 200, 200, 401, 401, 401,
            ],
        ),
        r(
            "compat: issue",
            M::POST,
            "/admin/tokens",
            json(json!({"owner": "carol", "roles": ["reader"]})),
            [
                401, 401, 401, 403, 403, 403, 401, 403, 201, 201, 401, 401, 401,
            ],
        ),
        r(
            "compat: update",
            M::PATCH,
            "/admin/tokens/{svc}",
            json(json!({"roles": ["reader"]})),
            [
                401, 401, 401, 403, 403, 403, 401, 403, 204, 204, 401, 401, 401,
            ],
        ),
        r(
            "compat: revoke",
            M::PUT,
            "/admin/tokens/{svc}/revoke",
            json(json!({})),
            [
                401, 401, 401, 403, 403, 403, 401, 403, 204, 204, 401, 401, 401,
            ],
        ),
        r(
            "page: revoke own token",
            M::POST,
            "/settings/personal-tokens/{mine}/revoke",
            Body::Form(&[]),
            [
                401, 403, 303, 401, 401, 401, 303, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: regenerate own token",
            M::POST,
            "/settings/personal-tokens/{mine}/regenerate",
            Body::Form(&[("grace", "0")]),
            [
                401, 403, 200, 401, 401, 401, 200, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: create service token",
            M::POST,
            "/admin/access-tokens",
            Body::Form(&[("name", "{n}"), ("owner", "ci"), ("scope", "read")]),
            [
                401, 403, 403, 401, 401, 401, 201, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: revoke service token",
            M::POST,
            "/admin/access-tokens/{svc}/revoke",
            Body::Form(&[]),
            [
                401, 403, 403, 401, 401, 401, 303, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: revoke all of a user",
            M::POST,
            "/admin/users/revoke-all",
            Body::Form(&[("user", "bob")]),
            [
                401, 403, 403, 401, 401, 401, 303, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: disable a user",
            M::POST,
            "/admin/users/disable",
            Body::Form(&[("user", "bob")]),
            [
                401, 403, 403, 401, 401, 401, 303, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: approve consent",
            M::POST,
            "{consent}",
            Body::Form(&[
                ("action", "approve"),
                ("token_name", "t"),
                ("expiry", "30"),
                ("scope", "read"),
            ]),
            [
                401, 403, 302, 401, 401, 401, 302, 401, 401, 401, 401, 401, 401,
            ],
        ),
        r(
            "page: type a device code",
            M::POST,
            "/device",
            Body::Form(&[("user_code", "{user_code}")]),
            [
                401, 403, 303, 401, 401, 401, 303, 401, 401, 401, 401, 401, 401,
            ],
        ),
    ]
}

/// The table as the README shows it.
pub fn render() -> String {
    let mut out = format!("| route | {} |\n", CALLERS.join(" | "));
    out.push_str(&format!("|---|{}\n", "---|".repeat(CALLERS.len())));
    for r in routes() {
        let path = r.path.replace(['{', '}'], "");
        let cells: Vec<String> = r.expected.iter().map(u16::to_string).collect();
        out.push_str(&format!(
            "| {} `{} {}` | {} |\n",
            r.what,
            r.method,
            path,
            cells.join(" | ")
        ));
    }
    out
}

mod fixtures;
use fixtures::{Callers, Cell};

async fn every_route_answers_every_caller_as_documented(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let resources: toml::Table = toml::from_str(&format!(
            "[[resources]]\naudience = \"{}\"\ndescription = \"Orders\"\n",
            fixtures::RESOURCE
        ))
        .unwrap();
        t.extend(resources);
    })
    .await;
    let callers = Callers::new(&app).await;
    let mut wrong = Vec::new();
    for route in routes() {
        for (column, expected) in route.expected.iter().enumerate() {
            let cell = Cell::prepare(&app, &callers, column, route.path).await;
            let got = cell.call(&app, &callers, column, &route).await;
            if got != *expected {
                wrong.push(format!(
                    "{} × {}: expected {expected}, got {got}",
                    route.what, CALLERS[column]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "cells that differ:\n{}", wrong.join("\n"));
}

#[test]
fn the_readme_shows_this_table() {
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&render()),
        "README's \"Who may do what\" must show this table:\n\n{}",
        render()
    );
}

/// A service token owned by `ci`.
pub(crate) async fn service_token(app: &TestApp, name: &str) -> String {
    let request = IssueRequest::new(TokenKind::Service, "ci", name, vec!["read".into()]);
    app.issue_request(request).await
}

/// A personal token of `owner` with scope `read`.
pub(crate) async fn personal_token(app: &TestApp, owner: &str, name: &str) -> String {
    app.issue(owner, name, &["read"], RequestedLifetime::Default)
        .await
}
