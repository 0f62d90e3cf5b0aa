//! Token introspection (RFC 7662) for resource servers: PATs and patgate
//! access tokens. Anything not active answers only `{"active": false}`
//! (§2.2), as does a PAT bound to another client than the caller.

use super::access_token::{self, DIRECT_CLIENT_ID};
use super::clients::Client;
use super::token_check;
use crate::app::Tx;
use crate::error::InternalError;
use serde_json::{json, Value};

/// The introspection answer for `raw`, a PAT or an access token, to the
/// authenticated `client`. Blocking.
pub fn introspect(tx: &mut Tx<'_>, client: &Client, raw: &str) -> Result<Value, InternalError> {
    if let Some(record) = token_check::genuine(tx, raw, token_check::Verify::UsableOnly)? {
        let bound_elsewhere = record
            .bound_client_id
            .as_ref()
            .is_some_and(|b| *b != client.id);
        if bound_elsewhere || !crate::tokens::status(&record, tx.now()).is_usable() {
            return Ok(inactive());
        }
        let mut answer = json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": record.scopes.join(" "),
            "client_id": record.client_id.as_deref().unwrap_or(DIRECT_CLIENT_ID),
            "sub": record.owner,
            "username": record.owner,
            "iss": tx.config().issuer_id(),
            "iat": record.created_at.timestamp(),
            "exp": record.expires_at.map(|t| t.timestamp()),
            "token_id": record.id,
            "token_kind": record.kind.as_str(),
        });
        if let Value::Object(map) = &mut answer {
            map.retain(|_, v| !v.is_null());
        }
        return Ok(answer);
    }
    let Some(verified) = access_token::verify(tx, raw)? else {
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
