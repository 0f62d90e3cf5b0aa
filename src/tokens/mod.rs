//! Personal and service access tokens: issuing, reading and listing. Every
//! operation takes the acting principal, asks the policy first, and runs in
//! the caller's transaction with its audit event. A token's secret is
//! stored only as a PHC hash and shown once.

pub mod admin;
pub mod format;
mod lifecycle;
pub mod view;

pub use crate::policy::rules::{RequestedLifetime, ScopeSet, MAX_NAME_CHARS};
pub use lifecycle::{
    restore, restore_record, revoke, revoke_all, revoke_record, rotate, MAX_ROTATION_GRACE_SECONDS,
};

use crate::app::{Services, Tx};
use crate::audit::{self, Event};
use crate::error::{Conflict, InternalError, OpError};
use crate::policy::rules::{self, Violation};
use crate::policy::{Action, Policy, Principal};
use crate::secret::hashing::SecretHasher;
use crate::secret::SecretString;
use crate::store::models::TokenRecord;
use crate::store::tokens::{self as token_store, InsertOutcome, NewToken};
use chrono::{DateTime, Duration, Utc};
use format::TokenKind;
use serde::Serialize;

/// How a token's secret is set.
#[derive(Debug, Clone, Default)]
pub enum SecretSource {
    /// Generate one (shown once).
    #[default]
    Generate,
    /// A hash made elsewhere (argon2id or scrypt PHC string): the token is
    /// registered, and its raw form is the holder's.
    Registered(String),
}

/// What to issue.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Personal or service.
    pub kind: TokenKind,
    /// Owner subject or group.
    pub owner: String,
    /// Token name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Scopes (RFC 6749 §3.3 scope tokens).
    pub scopes: Vec<String>,
    /// Which scopes are acceptable: the catalogue, or free-form roles.
    pub scope_set: ScopeSet,
    /// The `@access-tokens` admin flag.
    pub is_admin: bool,
    /// Client the token is issued to.
    pub client_id: Option<String>,
    /// The confidential client whose authentication the token will need.
    pub bound_client_id: Option<String>,
    /// The RFC 7638 thumbprint of the key whose DPoP proofs the token will
    /// need (RFC 9449).
    pub dpop_jkt: Option<String>,
    /// The resource servers (configured audiences) the token is limited
    /// to (RFC 8707); empty: not limited.
    pub resources: Vec<String>,
    /// Asked-for lifetime.
    pub lifetime: RequestedLifetime,
    /// Networks allowed to exchange the token (CIDR or address); empty allows any.
    pub cidrs: Vec<String>,
    /// A chosen public id (21 letters and digits); `None`: a random one.
    pub id: Option<String>,
    /// How the secret is set.
    pub secret: SecretSource,
}

impl IssueRequest {
    /// A request for a token of `kind` owned by `owner`, named `name`, with
    /// catalogue `scopes` and everything else at its default.
    pub fn new(kind: TokenKind, owner: &str, name: &str, scopes: Vec<String>) -> Self {
        IssueRequest {
            kind,
            owner: owner.to_string(),
            name: name.to_string(),
            description: None,
            scopes,
            scope_set: ScopeSet::Catalogue,
            is_admin: false,
            client_id: None,
            bound_client_id: None,
            dpop_jkt: None,
            resources: vec![],
            lifetime: RequestedLifetime::Default,
            cidrs: vec![],
            id: None,
            secret: SecretSource::Generate,
        }
    }
}

/// A token just issued: its raw string (show once; empty when registered)
/// and its record.
#[derive(Debug)]
pub struct IssuedToken {
    /// The whole token; never stored.
    pub raw: SecretString,
    /// What was stored.
    pub record: TokenRecord,
}

/// A request that passed the policy and the rules, with its secret hashed:
/// what [`commit`] stores. Only [`prepare`] makes one.
#[derive(Debug)]
pub struct PreparedToken {
    request: IssueRequest,
    id: String,
    raw: SecretString,
    secret_hash: String,
    expires_at: Option<DateTime<Utc>>,
    cidrs: Vec<String>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> OpError {
    OpError::Invalid(Violation {
        field,
        message: message.into(),
    })
}

/// Checks `req` by `who` against the policy and the token rules, then
/// generates and hashes its secret. Touches no database; blocking (argon2),
/// so call it before opening the transaction that [`commit`]s it.
pub fn prepare(
    svc: &Services,
    who: &Principal,
    req: IssueRequest,
) -> Result<PreparedToken, OpError> {
    let config = &svc.config;
    Policy::of(config).check(who, issue_action(&req))?;
    rules::owner(&req.owner)?;
    rules::name(&req.name)?;
    rules::description(req.description.as_deref())?;
    rules::scopes(config, &req.scopes, req.scope_set)?;
    let expires_at = rules::expiry(config, req.lifetime, svc.now())?;
    if req.id.as_deref().is_some_and(|id| {
        id.len() != format::ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric())
    }) {
        return Err(invalid(
            "tokenId",
            format!("a token id is {} letters and digits", format::ID_LEN),
        ));
    }
    if let Some(r) = req.resources.iter().find(|r| config.resource(r).is_none()) {
        return Err(invalid(
            "resources",
            format!("{r:?} is not a configured resource server's audience"),
        ));
    }
    if req.resources.len() > 20 {
        return Err(invalid("resources", "at most 20 resource servers"));
    }
    let mut cidrs = Vec::new();
    for entry in &req.cidrs {
        match crate::net::parse_cidr(entry) {
            Some(net) => cidrs.push(net.to_string()),
            None => {
                return Err(invalid(
                    "cidrs",
                    format!("{entry:?} is not a CIDR range or address"),
                ))
            }
        }
    }
    let generated = format::generate(req.kind, req.id.as_deref(), svc.random.as_ref());
    let (raw, secret_hash) = match &req.secret {
        SecretSource::Registered(phc) if SecretHasher::is_supported(phc) => {
            (SecretString::new(""), phc.clone())
        }
        SecretSource::Registered(_) => {
            return Err(invalid(
                "secretPhc",
                "secretPhc must be an argon2id or scrypt PHC string",
            ))
        }
        SecretSource::Generate => {
            let hash = svc
                .hasher
                .hash(generated.secret.expose(), svc.random.as_ref())?;
            (generated.raw, hash)
        }
    };
    Ok(PreparedToken {
        request: req,
        id: generated.id,
        raw,
        secret_hash,
        expires_at,
        cidrs,
    })
}

/// What issuing `req` asks of the policy.
fn issue_action(req: &IssueRequest) -> Action<'_> {
    match req.scope_set {
        // Free-form roles: the `@access-tokens` admin API's authority.
        ScopeSet::AnyToken => Action::CompatIssue(&req.scopes),
        ScopeSet::Catalogue => Action::Issue {
            kind: req.kind,
            owner: req.owner.trim(),
            scopes: &req.scopes,
        },
    }
}

/// Stores a prepared token and its `created` audit event in `tx`, once the
/// policy allows it to `who` as the transaction sees them.
pub fn commit(
    tx: &mut Tx<'_>,
    who: &Principal,
    token: PreparedToken,
) -> Result<IssuedToken, OpError> {
    let req = &token.request;
    // Asked again of the principal as this transaction sees it.
    Policy::of(tx.config()).check(who, issue_action(req))?;
    if req.kind == TokenKind::Personal {
        let owner = crate::store::accounts::find_user(tx.conn, req.owner.trim())?;
        if owner.is_some_and(|u| u.disabled) {
            return Err(OpError::Invalid(Violation {
                field: "owner",
                message: "the owner's account is disabled".into(),
            }));
        }
    }
    let new = NewToken {
        id: &token.id,
        kind: req.kind,
        owner: req.owner.trim(),
        name: req.name.trim(),
        description: req.description.as_deref(),
        scopes: &req.scopes,
        is_admin: req.is_admin,
        secret_hash: &token.secret_hash,
        client_id: req.client_id.as_deref(),
        created_at: tx.now(),
        expires_at: token.expires_at,
        cidrs: &token.cidrs,
        bound_client_id: req.bound_client_id.as_deref(),
        dpop_jkt: req.dpop_jkt.as_deref(),
        resources: &req.resources,
    };
    match token_store::insert(tx.conn, &new)? {
        InsertOutcome::Inserted => {}
        InsertOutcome::NameTaken => return Err(OpError::Conflict(Conflict::NameTaken)),
        InsertOutcome::IdTaken => return Err(OpError::Conflict(Conflict::DuplicateId)),
    }
    let record = token_store::find(tx.conn, &token.id)?.ok_or(InternalError::Vanished("token"))?;
    let details = serde_json::json!({
        "name": record.name, "kind": record.kind.as_str(), "scopes": record.scopes,
        "clientId": record.client_id, "boundClientId": record.bound_client_id,
        "dpopJkt": record.dpop_jkt, "resources": record.resources,
    });
    audit::record(tx, &record.id, Event::Created, who, details)?;
    tracing::info!(token_id = %record.id, actor = %who.label(), "token issued");
    Ok(IssuedToken {
        raw: token.raw,
        record,
    })
}

/// [`prepare`], then [`commit`] in a transaction of its own. Blocking.
pub fn issue(svc: &Services, who: &Principal, req: IssueRequest) -> Result<IssuedToken, OpError> {
    let prepared = prepare(svc, who, req)?;
    crate::principal::act(svc, who, |tx, who| commit(tx, who, prepared))
}

/// Which tokens a lookup by id may find; any other is "not found", so a
/// caller never learns that someone else's token exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The caller's own personal tokens.
    Own,
    /// Service tokens.
    Service,
    /// Any token (the admin pages and the operator).
    Any,
}

/// Token `id` as `lookup` allows `who` to find it, without a policy check:
/// every public operation checks its own action on the record.
fn load(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    lookup: Lookup,
) -> Result<TokenRecord, OpError> {
    let found = token_store::find(tx.conn, id)?.filter(|t| match lookup {
        Lookup::Own => t.kind == TokenKind::Personal && t.owner == who.subject,
        Lookup::Service => t.kind == TokenKind::Service,
        Lookup::Any => true,
    });
    found.ok_or(OpError::NotFound)
}

/// Token `id`, if `who` may read it.
pub fn read(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    lookup: Lookup,
) -> Result<TokenRecord, OpError> {
    let record = load(tx, who, id, lookup)?;
    Policy::of(tx.config()).check(who, Action::Read(&record))?;
    Ok(record)
}

/// Where a token stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    /// Usable.
    Active,
    /// Usable, expires within 7 days.
    Expiring,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
    /// Its owner's account is disabled: unusable until enabled again.
    Suspended,
}

impl TokenStatus {
    /// The name listings show.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expiring => "expiring",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
            TokenStatus::Suspended => "suspended",
        }
    }

    /// Whether a token in this state can be exchanged.
    pub fn is_usable(self) -> bool {
        matches!(self, TokenStatus::Active | TokenStatus::Expiring)
    }
}

/// The status of `record` at `now`.
pub fn status(record: &TokenRecord, now: DateTime<Utc>) -> TokenStatus {
    match (record.revoked_at, record.expires_at) {
        (Some(_), _) => TokenStatus::Revoked,
        (None, Some(exp)) if exp <= now => TokenStatus::Expired,
        _ if record.owner_disabled => TokenStatus::Suspended,
        (None, Some(exp)) if exp - now <= Duration::days(7) => TokenStatus::Expiring,
        _ => TokenStatus::Active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record's own usability test agrees with its status, for every
    /// combination of revoked, expired, expiring and suspended.
    #[test]
    fn usable_means_active_or_expiring() {
        let now = Utc::now();
        for revoked in [None, Some(now)] {
            for expires in [
                None,
                Some(now - Duration::days(1)),
                Some(now + Duration::days(1)),
            ] {
                for owner_disabled in [false, true] {
                    let record = TokenRecord {
                        expires_at: expires,
                        revoked_at: revoked,
                        owner_disabled,
                        ..TokenRecord::sample(TokenKind::Personal, "o", &[])
                    };
                    let status = status(&record, now);
                    assert_eq!(status.is_usable(), record.is_usable_at(now), "{status:?}");
                    if owner_disabled && revoked.is_none() && expires.is_none_or(|e| e > now) {
                        assert_eq!(status, TokenStatus::Suspended);
                    }
                }
            }
        }
    }
}
