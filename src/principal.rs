//! The principal behind a request: a signed-in person, or the holder of a
//! token acting for its owner. The owner's permissions come from their
//! roles and upstream groups, as `[access]` maps them.

use crate::app::{Services, Tx};
use crate::config::{Permission, ADMIN_ROLE};
use crate::error::OpError;
use crate::policy::{Origin, Principal, Via};
use crate::store::accounts as users;
use crate::store::models::TokenRecord;
use crate::store::StoreError;
use std::collections::BTreeSet;

/// What `subject` holds: the permissions of everyone plus those of the
/// user's roles and groups (`admin_token`: a token with the admin flag,
/// which acts with the `admin` role, also for a non-user owner).
pub fn held_by(
    tx: &mut Tx<'_>,
    subject: &str,
    admin_token: bool,
) -> Result<BTreeSet<Permission>, StoreError> {
    let access = &tx.svc.config.access;
    let roles = match users::find_user(tx.conn, subject)? {
        Some(user) => {
            let mut direct = user.role_list();
            if user.is_admin || admin_token {
                direct.push(ADMIN_ROLE.into());
            }
            access.roles_of(&direct, &user.group_list())
        }
        None if admin_token => BTreeSet::from([ADMIN_ROLE.to_string()]),
        None => BTreeSet::new(),
    };
    Ok(access.permissions_of(&roles))
}

/// The signed-in person `subject`: their permissions as they are now;
/// `None` when their account is disabled (it is inert).
pub fn for_session(
    tx: &mut Tx<'_>,
    subject: &str,
    origin: Origin,
) -> Result<Option<Principal>, StoreError> {
    if users::find_user(tx.conn, subject)?.is_some_and(|u| u.disabled) {
        return Ok(None);
    }
    let held = held_by(tx, subject, false)?;
    Ok(Some(Principal::session(subject, held, origin)))
}

/// The holder of `token` (still active) acting through `via` with `scopes`:
/// the owner's permissions, narrowed to what the scopes grant.
pub fn for_token(
    tx: &mut Tx<'_>,
    token: &TokenRecord,
    via: Via,
    scopes: Vec<String>,
    origin: Origin,
) -> Result<Principal, StoreError> {
    let held = held_by(tx, &token.owner, token.is_admin)?;
    Ok(Principal::with_token(
        &token.owner,
        via,
        held,
        scopes,
        &tx.svc.config.access,
        origin,
    ))
}

/// `who` as it stands now, read in `tx`: a principal resolved earlier in
/// the request (by an extractor, to answer 401 and 403 before the body is
/// read) is confirmed inside the operation's own transaction, so a
/// revocation or a disabled account that committed first is what the
/// operation sees, and permissions are the owner's as of this transaction.
/// `None`: its credential no longer stands. Operators, patgate itself and
/// holders of a proven secret are who they are.
pub fn confirm(tx: &mut Tx<'_>, who: &Principal) -> Result<Option<Principal>, StoreError> {
    let origin = who.origin.clone();
    let token_id = match &who.via {
        Via::Session => return for_session(tx, &who.subject, origin),
        Via::AccessToken { token_id, .. } | Via::CompatToken { token_id, .. } => token_id,
        Via::SecretHolder { .. } | Via::Operator | Via::System => return Ok(Some(who.clone())),
    };
    let token = match crate::store::tokens::find(tx.conn, token_id)? {
        Some(t) if t.is_usable_at(tx.now()) && t.owner == who.subject => t,
        _ => return Ok(None),
    };
    let scopes = who.token_scopes.clone().unwrap_or_default();
    let via = match &who.via {
        // The `isAdmin` flag as it is now.
        Via::CompatToken { token_id, .. } => Via::CompatToken {
            token_id: token_id.clone(),
            is_admin: token.is_admin,
        },
        via => via.clone(),
    };
    Ok(Some(for_token(tx, &token, via, scopes, origin)?))
}

/// An authorised unit of work: `work` runs in one write transaction as
/// `who` confirmed inside it (see [`confirm`]); a credential that no longer
/// stands is [`OpError::Unauthenticated`] and nothing happens. Blocking.
pub fn act<T>(
    svc: &Services,
    who: &Principal,
    work: impl FnOnce(&mut Tx<'_>, &Principal) -> Result<T, OpError>,
) -> Result<T, OpError> {
    svc.write(|tx| {
        let who = confirm(tx, who)?.ok_or(OpError::Unauthenticated)?;
        work(tx, &who)
    })
}

/// [`act`] for work that only reads (one connection, no transaction).
pub fn act_read<T>(
    svc: &Services,
    who: &Principal,
    work: impl FnOnce(&mut Tx<'_>, &Principal) -> Result<T, OpError>,
) -> Result<T, OpError> {
    svc.read(|tx| {
        let who = confirm(tx, who)?.ok_or(OpError::Unauthenticated)?;
        work(tx, &who)
    })
}
