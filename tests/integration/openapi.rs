//! `GET /api/openapi.json`: an OpenAPI 3.1 document that describes every
//! program-facing route of the route table and nothing else, whose
//! references resolve, whose token schema matches what the API answers,
//! and which follows the configured compatible-API paths.

use crate::support::{TestApp, TestDb, TOKEN_API_SCOPES};
use patgate::web::{route_list, Audience};
use serde_json::Value;
use std::collections::BTreeSet;

async fn document(app: &TestApp) -> Value {
    let res = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    res.json().await.unwrap()
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[actix_web::test]
async fn the_document_describes_exactly_the_api_routes() {
    let db = TestDb::sqlite();
    let app = TestApp::start(&db).await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], app.svc.config.issuer_id());

    let table = route_list(&app.svc.config);
    let api: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| r.audience == Audience::Api)
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    assert!(api.len() >= 29, "{api:?}");
    let doc_routes = documented(&doc);
    let missing: Vec<_> = api.difference(&doc_routes).collect();
    let ghosts: Vec<_> = doc_routes.difference(&api).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(ghosts.is_empty(), "documented but not routed: {ghosts:?}");
    let pages: Vec<_> = table
        .iter()
        .filter(|r| r.audience == Audience::Page)
        .filter(|r| doc["paths"].get(&r.path).is_some())
        .collect();
    assert!(
        pages.is_empty(),
        "pages are not in the API document: {pages:?}"
    );

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").expect(&r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} resolves"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut ids = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_string()), "operation id {id} is unique");
        }
    }
    independent_check(&doc);
}

/// Validates `doc` with PyPI's `openapi-spec-validator` (OpenAPI 3.1
/// schema) where `OPENAPI_SPEC_VALIDATOR` names it (`.ci/run` installs it).
fn independent_check(doc: &Value) {
    let Ok(validator) = std::env::var("OPENAPI_SPEC_VALIDATOR") else {
        crate::support::skipped(
            "OPENAPI_SPEC_VALIDATOR is not set; the OpenAPI document's independent check",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new(validator)
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("OK"),
        "openapi-spec-validator: {text}"
    );
}

#[actix_web::test]
async fn the_token_schema_is_what_the_api_answers() {
    let db = TestDb::sqlite();
    let app = TestApp::start(&db).await;
    let doc = document(&app).await;
    let pat = app
        .issue(
            "alice",
            "cli",
            &TOKEN_API_SCOPES,
            patgate::tokens::RequestedLifetime::Default,
        )
        .await;
    let jwt = app.jwt_for(&pat).await;
    let res = app
        .http
        .post(app.url("/api/access-tokens/personal"))
        .bearer_auth(&jwt)
        .json(&serde_json::json!({"name": "laptop", "scopes": ["patgate:tokens:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let issued: Value = res.json().await.unwrap();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let schemas = &doc["components"]["schemas"];
    assert_eq!(keys(&issued), keys(&schemas["IssuedToken"]["properties"]));
    assert_eq!(
        keys(&issued["token"]),
        keys(&schemas["TokenView"]["properties"])
    );
    let body = &doc["paths"]["/api/access-tokens/personal"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/CreatePersonalToken");
    let exchange = &doc["paths"]["/api/auth/v1/token"]["post"]["requestBody"]["content"];
    assert!(
        exchange.get("application/x-www-form-urlencoded").is_some(),
        "{exchange}"
    );
}

#[actix_web::test]
async fn compatible_paths_follow_the_configuration() {
    let db = TestDb::sqlite();
    let moved = TestApp::start_with(&db, |t| {
        let compat: toml::Table =
            toml::from_str("admin_path = \"/pat-admin\"\nauth_path = \"/pat-auth\"").unwrap();
        t.insert("compat".into(), compat.into());
    })
    .await;
    let doc = document(&moved).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        paths.contains_key("/pat-admin/tokens/{id}/revoke")
            && paths.contains_key("/pat-auth/token")
    );
    assert!(!paths.contains_key("/admin/tokens") && !paths.contains_key("/auth/token"));

    let db = TestDb::sqlite();
    let off = TestApp::start_with(&db, |t| {
        let compat: toml::Table = toml::from_str("enabled = false").unwrap();
        t.insert("compat".into(), compat.into());
    })
    .await;
    let doc = document(&off).await;
    let compat_operations = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter(|op| {
            op["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&"compat".into()))
        })
        .count();
    assert_eq!(compat_operations, 0, "no compatible routes when turned off");
    assert!(route_list(&off.svc.config)
        .iter()
        .all(|r| !r.path.starts_with("/admin/tokens")));
}
