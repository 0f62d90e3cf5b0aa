//! Who may do what, decided in one place.
//!
//! Every domain operation receives the acting [`Principal`] and asks
//! [`Policy::check`] before it touches anything. A principal's permissions
//! are those of its owner (roles, upstream groups, `[access]`), and when it
//! acts with a token, only those the token's scopes grant as well
//! (least privilege; RFC 6750 §3.1 `insufficient_scope` when a scope is
//! missing). The rules on what a token may look like (names, scopes,
//! lifetime) are in [`rules`].

pub mod rules;

use crate::config::{AccessConfig, Config, Permission};
use crate::store::models::TokenRecord;
use crate::store::TokenKind;
use std::collections::BTreeSet;

/// How a principal reached patgate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A signed-in browser session: the owner's permissions.
    Session,
    /// A patgate access token (RFC 9068 JWT) minted from the PAT `token_id`.
    AccessToken {
        /// The PAT the JWT came from.
        token_id: String,
        /// The client the PAT was issued to.
        client_id: Option<String>,
    },
    /// A JWT of the `@access-tokens`-compatible API, minted from `token_id`.
    CompatToken {
        /// The token the JWT came from.
        token_id: String,
        /// Whether that token is an `@access-tokens` admin (`isAdmin`).
        is_admin: bool,
    },
    /// Whoever proved possession of token `token_id`'s secret: its holder
    /// revoking it (RFC 7009 §2.1), or anyone reporting it leaked. It may
    /// revoke that one token and nothing else.
    SecretHolder {
        /// The token whose secret was presented.
        token_id: String,
        /// What it came through (`revocation-endpoint`, `leak-report`).
        through: &'static str,
    },
    /// An operator's command on the server (`patgate admin …`).
    Operator,
    /// patgate itself (a replayed code's token, an SSO account policy).
    System,
}

/// Where a request came from, as the audit log records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Client address.
    pub ip: Option<String>,
    /// User agent, cut to 256 characters.
    pub user_agent: Option<String>,
}

/// Who acts: the subject, how it came, what it may do.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user (or token owner, or `cli:<user>`, or `patgate:<what>`).
    pub subject: String,
    /// How it came.
    pub via: Via,
    /// What its owner holds (roles and groups), before any scope applies.
    pub held: BTreeSet<Permission>,
    /// What it may do now: `held`, narrowed by the token's scopes.
    pub permissions: BTreeSet<Permission>,
    /// The scopes of the token it acts with; `None` without a token.
    pub token_scopes: Option<Vec<String>>,
    /// Where the request came from.
    pub origin: Origin,
}

impl Principal {
    /// A signed-in person with the permissions `held`.
    pub fn session(subject: &str, held: BTreeSet<Permission>, origin: Origin) -> Self {
        Principal {
            subject: subject.to_string(),
            via: Via::Session,
            permissions: held.clone(),
            held,
            token_scopes: None,
            origin,
        }
    }

    /// A token holder: `held` narrowed to what `scopes` grant (`access` maps them).
    pub fn with_token(
        subject: &str,
        via: Via,
        held: BTreeSet<Permission>,
        scopes: Vec<String>,
        access: &AccessConfig,
        origin: Origin,
    ) -> Self {
        let granted = access.granted_by(&scopes);
        Principal {
            subject: subject.to_string(),
            via,
            permissions: held.intersection(&granted).copied().collect(),
            held,
            token_scopes: Some(scopes),
            origin,
        }
    }

    /// Whoever presented token `token_id`'s genuine secret through
    /// `through`, from `origin`: no permission, only what [`Via::SecretHolder`]
    /// allows.
    pub fn secret_holder(token_id: &str, through: &'static str, origin: Origin) -> Self {
        Principal {
            subject: format!("patgate:{through}"),
            via: Via::SecretHolder {
                token_id: token_id.to_string(),
                through,
            },
            held: BTreeSet::new(),
            permissions: BTreeSet::new(),
            token_scopes: None,
            origin,
        }
    }

    /// The operator running `patgate admin …` as `user`: every permission.
    pub fn operator(user: &str) -> Self {
        Self::all(format!("cli:{user}"), Via::Operator)
    }

    /// patgate itself acting for `what` (recorded as `patgate:<what>`).
    pub fn system(what: &str) -> Self {
        Self::all(format!("patgate:{what}"), Via::System)
    }

    fn all(subject: String, via: Via) -> Self {
        let every: BTreeSet<Permission> = Permission::ALL.into_iter().collect();
        Principal {
            subject,
            via,
            held: every.clone(),
            permissions: every,
            token_scopes: None,
            origin: Origin::default(),
        }
    }

    /// Whether it may use `p` now.
    pub fn may(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// The name the audit log and `revoked_by` record.
    pub fn label(&self) -> String {
        match &self.via {
            Via::CompatToken { token_id, .. } => format!("token:{token_id}"),
            Via::SecretHolder {
                token_id,
                through: "revocation-endpoint",
            } => format!("token:{token_id}"),
            _ => self.subject.clone(),
        }
    }
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The owner does not hold this permission.
    Permission(Permission),
    /// The owner holds the permission but the token's scopes do not grant
    /// it: one of these scopes would (RFC 6750 §3.1 `insufficient_scope`).
    Scope {
        /// What was needed.
        permission: Permission,
        /// Scopes that grant it.
        scopes: Vec<String>,
    },
    /// A token may not give what the caller cannot: this scope is beyond
    /// the caller's token, or grants permissions the caller does not have.
    Ceiling(String),
    /// Only an `@access-tokens` admin (or a full administrator) may.
    NotCompatAdmin,
}

impl Denied {
    /// A sentence for the caller.
    pub fn message(&self) -> String {
        match self {
            Denied::Permission(p) => format!("this needs the permission {}", p.as_str()),
            Denied::Scope { permission, scopes } => format!(
                "the access token's scopes do not grant {}; a token with scope {} would",
                permission.as_str(),
                scopes.join(" or ")
            ),
            Denied::Ceiling(scope) => {
                format!("scope {scope:?} is not one this caller may grant")
            }
            Denied::NotCompatAdmin => "admin token required".into(),
        }
    }
}

/// What a principal asks to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// List its own personal tokens.
    ListOwn,
    /// List tokens of `kind` of every owner.
    ListAll(TokenKind),
    /// Read a token and its audit trail.
    Read(&'a TokenRecord),
    /// Issue a token of `kind` for `owner` with `scopes`.
    Issue {
        /// Personal or service.
        kind: TokenKind,
        /// Its owner.
        owner: &'a str,
        /// Its scopes.
        scopes: &'a [String],
    },
    /// Give a token a new secret.
    Rotate(&'a TokenRecord),
    /// Revoke a token.
    Revoke(&'a TokenRecord),
    /// Restore a revoked token.
    Restore(&'a TokenRecord),
    /// Revoke every personal token of a user (offboarding).
    RevokeAllOf(&'a str),
    /// Approve a consent request for a PAT with `scopes` (RFC 6749 §4.1.2).
    ApproveConsent(&'a [String]),
    /// List, disable and enable users.
    ManageUsers,
    /// See, per reported token, what a leak report did (anyone may report;
    /// only those who administer every user's tokens learn which existed).
    SeeLeakResults,
    /// Use the `@access-tokens`-compatible admin API.
    CompatAdmin,
    /// Issue a token with free-form `roles` through that API.
    CompatIssue(&'a [String]),
}

/// The one policy: the configured access mapping applied to principals.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    access: &'a AccessConfig,
    metrics: &'a crate::config::MetricsConfig,
}

/// What an action on an existing token needs.
#[derive(Clone, Copy)]
enum Use {
    Read,
    Write,
    Revoke,
}

impl<'a> Policy<'a> {
    /// The policy of `config`.
    pub fn of(config: &'a Config) -> Self {
        Policy {
            access: &config.access,
            metrics: &config.metrics,
        }
    }

    /// Allows or refuses `action` by `who`.
    pub fn check(&self, who: &Principal, action: Action<'_>) -> Result<(), Denied> {
        match action {
            Action::ListOwn => self.need(who, Permission::UserRead),
            Action::ListAll(TokenKind::Personal) | Action::RevokeAllOf(_) => {
                self.need(who, Permission::UserAdmin)
            }
            Action::ListAll(TokenKind::Service) => self.need(who, Permission::ServiceRead),
            Action::Read(t) => self.need(who, needed(who, t.kind, &t.owner, Use::Read)),
            Action::Issue {
                kind,
                owner,
                scopes,
            } => {
                self.need(who, needed(who, kind, owner, Use::Write))?;
                self.may_put(who, scopes, kind == TokenKind::Personal)
            }
            Action::Rotate(t) => {
                self.need(who, needed(who, t.kind, &t.owner, Use::Write))?;
                self.may_put(who, &t.scopes, t.kind == TokenKind::Personal)
            }
            Action::Revoke(t) => match &who.via {
                Via::SecretHolder { token_id, .. } if *token_id == t.id => Ok(()),
                _ => self.need(who, needed(who, t.kind, &t.owner, Use::Revoke)),
            },
            Action::Restore(t) => self.need(
                who,
                match t.kind {
                    TokenKind::Personal => Permission::UserAdmin,
                    TokenKind::Service => Permission::ServiceWrite,
                },
            ),
            Action::ApproveConsent(scopes) => {
                self.need(who, Permission::UserWrite)?;
                self.may_grant(who, scopes)
            }
            Action::ManageUsers | Action::SeeLeakResults => self.need(who, Permission::UserAdmin),
            Action::CompatAdmin => compat_admin(who),
            Action::CompatIssue(roles) => {
                compat_admin(who)?;
                self.may_assign(who, roles)
            }
        }
    }

    /// Whether `who` may use `p` now, and if not, why.
    fn need(&self, who: &Principal, p: Permission) -> Result<(), Denied> {
        if who.may(p) {
            return Ok(());
        }
        if who.held.contains(&p) && who.token_scopes.is_some() {
            let scopes = self.access.scopes_granting(p);
            return Err(Denied::Scope {
                permission: p,
                scopes: scopes.into_iter().map(str::to_string).collect(),
            });
        }
        Err(Denied::Permission(p))
    }

    /// Whether `who` may put `scopes` on a person's token (a new one, or
    /// one it regenerates): a scope of patgate's API only if `who` may use
    /// every permission it grants, and through a patgate access token only
    /// scopes that token carries itself (a token never makes a stronger one).
    pub fn may_grant(&self, who: &Principal, scopes: &[String]) -> Result<(), Denied> {
        self.may_put(who, scopes, true)
    }

    /// Whether `who`, administering, may put `scopes` on a token that is not
    /// its own (a service token, an `@access-tokens` token): any scope, but
    /// one of patgate's API only if `who` may use every permission it grants.
    pub fn may_assign(&self, who: &Principal, scopes: &[String]) -> Result<(), Denied> {
        self.may_put(who, scopes, false)
    }

    /// [`Self::may_grant`], or with `delegated` false [`Self::may_assign`].
    fn may_put(&self, who: &Principal, scopes: &[String], delegated: bool) -> Result<(), Denied> {
        for scope in scopes {
            if let Some(grants) = self.access.scope_grants(scope) {
                if !grants.iter().all(|p| who.may(*p)) {
                    return Err(Denied::Ceiling(scope.clone()));
                }
            }
            let carried = who
                .token_scopes
                .as_ref()
                .is_none_or(|own| own.contains(scope));
            if delegated && matches!(who.via, Via::AccessToken { .. }) && !carried {
                return Err(Denied::Ceiling(scope.clone()));
            }
        }
        Ok(())
    }

    /// Whether a scraper may read the metrics: with `[metrics] token` set,
    /// only one presenting it (compared in constant time); without it, only
    /// a loopback peer (the socket's address, never a forwarded one).
    pub fn may_read_metrics(&self, presented_token: Option<&str>, peer_is_loopback: bool) -> bool {
        match &self.metrics.token {
            Some(token) => {
                presented_token.is_some_and(|given| crate::secret::equal(token.0.expose(), given))
            }
            None => peer_is_loopback,
        }
    }

    /// The scopes among `scopes` that `who` may put on a token.
    pub fn grantable<'s>(&self, who: &Principal, scopes: &'s [String]) -> Vec<&'s str> {
        scopes
            .iter()
            .filter(|s| self.may_grant(who, std::slice::from_ref(*s)).is_ok())
            .map(String::as_str)
            .collect()
    }
}

/// An `@access-tokens` admin (`isAdmin` token), or a principal holding
/// every permission (an administrator, through `patgate:admin`).
fn compat_admin(who: &Principal) -> Result<(), Denied> {
    let flagged = matches!(who.via, Via::CompatToken { is_admin: true, .. });
    let full = Permission::ALL.iter().all(|p| who.may(*p));
    if flagged || full {
        Ok(())
    } else {
        Err(Denied::NotCompatAdmin)
    }
}

/// The permission an action of kind `what` on a token of `kind` owned by
/// `owner` needs from `who`.
fn needed(who: &Principal, kind: TokenKind, owner: &str, what: Use) -> Permission {
    match (kind, owner == who.subject, what) {
        (TokenKind::Personal, true, Use::Read) => Permission::UserRead,
        (TokenKind::Personal, true, Use::Write) => Permission::UserWrite,
        (TokenKind::Personal, true, Use::Revoke) => Permission::UserRevoke,
        (TokenKind::Personal, false, _) => Permission::UserAdmin,
        (TokenKind::Service, _, Use::Read) => Permission::ServiceRead,
        (TokenKind::Service, _, Use::Write) => Permission::ServiceWrite,
        (TokenKind::Service, _, Use::Revoke) => Permission::ServiceRevoke,
    }
}

#[cfg(test)]
mod tests;
