//! Token introspection (RFC 7662) for resource servers: PATs and patgate
//! access tokens. Anything not active answers only `{"active": false}` (§2.2).

use super::token_check;
use crate::accounts::principal;
use crate::app::Services;
use crate::error::InternalError;
use serde_json::{json, Value};

/// The introspection answer for `raw`, a PAT or an access token. Blocking.
pub fn introspect(svc: &Services, raw: &str) -> Result<Value, InternalError> {
    if let Some(record) = token_check::genuine(svc, raw)? {
        if !token_check::is_active(svc, &record) {
            return Ok(inactive());
        }
        let mut answer = json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": record.scopes.join(" "),
            "client_id": record.client_id.as_deref().unwrap_or(super::access_token::DIRECT_CLIENT_ID),
            "sub": record.owner,
            "username": record.owner,
            "iss": svc.config.issuer_id(),
            "iat": record.created_at.timestamp(),
            "exp": record.expires_at.map(|t| t.timestamp()),
            "token_id": record.id,
            "token_kind": record.kind,
        });
        if let Value::Object(map) = &mut answer {
            map.retain(|_, v| !v.is_null());
        }
        return Ok(answer);
    }
    let Some(verified) = principal::verify_access_token(svc, raw)? else {
        return Ok(inactive());
    };
    let mut answer = verified.claims;
    answer.insert("active".into(), json!(true));
    answer.insert("token_type".into(), json!("access_token"));
    answer.insert("username".into(), json!(verified.token.owner));
    Ok(Value::Object(answer))
}

fn inactive() -> Value {
    json!({ "active": false })
}
