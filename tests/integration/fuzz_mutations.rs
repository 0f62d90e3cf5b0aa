//! The mutations of the HTTP fuzzer (see `http_fuzz`): routes with their
//! ids, query and form parameters, JSON fields, header values, and bodies,
//! each drawn from a seeded generator and mixed with real credentials.

use rand::rngs::StdRng;
use rand::Rng;

/// The route table, with `{}` where an id or name goes.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/auth/v1/token"),
    ("GET", "/api/auth/v1/authorize"),
    ("POST", "/api/auth/v1/authorize"),
    ("POST", "/api/auth/v1/device_authorization"),
    ("POST", "/api/auth/v1/revoke"),
    ("POST", "/api/auth/v1/introspect"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/device"),
    ("POST", "/device"),
    ("GET", "/oauth2/authorize/{}"),
    ("POST", "/oauth2/authorize/{}"),
    ("GET", "/login/sso/{}"),
    ("GET", "/login/sso/{}/callback"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("GET", "/settings/personal-tokens"),
    ("GET", "/settings/personal-tokens/new"),
    ("GET", "/settings/personal-tokens/callback"),
    ("GET", "/settings/personal-tokens/{}/revoke"),
    ("POST", "/settings/personal-tokens/{}/revoke"),
    ("POST", "/settings/personal-tokens/{}/regenerate"),
    ("GET", "/admin/access-tokens"),
    ("POST", "/admin/access-tokens"),
    ("GET", "/admin/access-tokens/new"),
    ("GET", "/admin/access-tokens/{}"),
    ("POST", "/admin/access-tokens/{}/revoke"),
    ("POST", "/admin/access-tokens/{}/restore"),
    ("GET", "/admin/users/revoke-all"),
    ("POST", "/admin/users/revoke-all"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users/disable"),
    ("POST", "/admin/users/enable"),
    ("GET", "/api/access-tokens/personal"),
    ("POST", "/api/access-tokens/personal"),
    ("GET", "/api/access-tokens/personal/{}"),
    ("DELETE", "/api/access-tokens/personal/{}"),
    ("POST", "/api/access-tokens/personal/{}/rotate"),
    ("GET", "/api/access-tokens/personal/{}/audit"),
    ("GET", "/api/access-tokens/service"),
    ("POST", "/api/access-tokens/service"),
    ("GET", "/api/access-tokens/service/scopes"),
    ("GET", "/api/access-tokens/service/{}"),
    ("DELETE", "/api/access-tokens/service/{}"),
    ("POST", "/api/access-tokens/service/{}/restore"),
    ("GET", "/api/access-tokens/service/{}/audit"),
    ("POST", "/api/access-tokens/users/{}/revoke-all"),
    ("POST", "/auth/token"),
    ("GET", "/admin/tokens"),
    ("POST", "/admin/tokens"),
    ("PATCH", "/admin/tokens/{}"),
    ("DELETE", "/admin/tokens/{}"),
    ("POST", "/admin/tokens/{}/restore"),
    ("POST", "/admin/tokens/find"),
    ("GET", "/static/patgate.css"),
    ("GET", "/nowhere/{}"),
];

const PARAMS: &[&str] = &[
    "grant_type",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "code",
    "code_verifier",
    "redirect_uri",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "device_code",
    "token",
    "token_type_hint",
    "subject_token",
    "subject_token_type",
    "q",
    "status",
    "owner",
    "cursor",
    "limit",
    "next",
    "user_code",
    "csrf",
    "action",
    "token_name",
    "expiry",
    "custom_date",
    "name",
    "includeSecretPhc",
];

const JSON_FIELDS: &[&str] = &[
    "name",
    "scopes",
    "expiresAt",
    "neverExpires",
    "graceSeconds",
    "owner",
    "description",
    "isAdmin",
    "cidrs",
    "id",
    "secretPhc",
    "ids",
    "reason",
    "records",
];

/// Credentials the mutations mix in, so authenticated paths are reached.
pub(crate) struct Material {
    pub(crate) pat: String,
    pub(crate) jwt: String,
    pub(crate) token_id: String,
}

fn value(rng: &mut StdRng, m: &Material) -> String {
    match rng.random_range(0..16) {
        0 => String::new(),
        1 => "a".repeat(rng.random_range(100..60_000)),
        2 => i64::MAX.to_string(),
        3 => i64::MIN.to_string(),
        4 => "1e400".into(),
        5 => "ü\u{0}\u{202e}😀".into(),
        6 => m.pat.clone(),
        7 => {
            let mut p = m.pat.clone().into_bytes();
            let at = rng.random_range(0..p.len());
            p[at] = b'A' + rng.random_range(0..26);
            String::from_utf8_lossy(&p).into_owned()
        }
        8 => m.token_id.clone(),
        9 => "%00%ff%".into(),
        10 => "../../etc/passwd".into(),
        11 => "-1".into(),
        12 => [
            "refresh_token",
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_credentials",
        ][rng.random_range(0..5)]
        .into(),
        13 => "read write patgate:admin".into(),
        14 => "2099-13-45T99:99:99Z".into(),
        _ => (0..rng.random_range(0..40))
            .map(|_| char::from(rng.random_range(32u8..127)))
            .collect(),
    }
}

fn json_value(rng: &mut StdRng, m: &Material) -> serde_json::Value {
    use serde_json::json;
    match rng.random_range(0..9) {
        0 => json!(null),
        1 => json!(rng.random::<i64>()),
        2 => json!(1e300),
        3 => json!([value(rng, m), "read"]),
        4 => json!({ "nested": value(rng, m) }),
        5 => json!(rng.random::<bool>()),
        6 => json!(u64::MAX),
        _ => json!(value(rng, m)),
    }
}

fn body(rng: &mut StdRng, m: &Material) -> (Option<&'static str>, Vec<u8>) {
    match rng.random_range(0..6) {
        0 => (None, Vec::new()),
        1 => {
            let n = rng.random_range(0..4096);
            (
                Some("application/octet-stream"),
                (0..n).map(|_| rng.random()).collect(),
            )
        }
        2 | 3 => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for _ in 0..rng.random_range(0..8) {
                let k = PARAMS[rng.random_range(0..PARAMS.len())];
                form.append_pair(k, &value(rng, m));
            }
            (
                Some("application/x-www-form-urlencoded"),
                form.finish().into_bytes(),
            )
        }
        4 => {
            let mut obj = serde_json::Map::new();
            for _ in 0..rng.random_range(0..6) {
                let k = JSON_FIELDS[rng.random_range(0..JSON_FIELDS.len())];
                obj.insert(k.into(), json_value(rng, m));
            }
            (Some("application/json"), serde_json::to_vec(&obj).unwrap())
        }
        _ => (Some("application/json"), b"{\"name\": [1, {\"".to_vec()),
    }
}

pub(crate) fn request(
    rng: &mut StdRng,
    base: &url::Url,
    m: &Material,
    http: &reqwest::Client,
) -> (String, reqwest::RequestBuilder) {
    let (method, template) = ROUTES[rng.random_range(0..ROUTES.len())];
    let id = match rng.random_range(0..4) {
        0 => m.token_id.clone(),
        1 => urlencode(&value(rng, m)),
        2 => "x".repeat(rng.random_range(1..3000)),
        _ => "kim".into(),
    };
    let mut url = base
        .join(&template.replace("{}", &id))
        .unwrap_or_else(|_| base.clone());
    if rng.random_bool(0.6) {
        let mut q = url.query_pairs_mut();
        for _ in 0..rng.random_range(0..6) {
            let k = PARAMS[rng.random_range(0..PARAMS.len())];
            q.append_pair(k, &value(rng, m));
        }
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(method.clone(), url.clone());
    let (content_type, bytes) = body(rng, m);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req = match rng.random_range(0..5) {
        0 => req.bearer_auth(&m.jwt),
        1 => req.bearer_auth(value(rng, m)),
        2 => req.basic_auth(value(rng, m), Some(value(rng, m))),
        _ => req,
    };
    if rng.random_bool(0.2) {
        req = req.header(
            "x-csrf-token",
            value(rng, m).chars().take(100).collect::<String>(),
        );
    }
    if rng.random_bool(0.1) {
        req = req.header(
            "cookie",
            format!("patgate_session={}", urlencode(&value(rng, m))),
        );
    }
    (format!("{method} {url}"), req.body(bytes))
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
