//! The principal behind a request: a signed-in person, or the holder of a
//! token acting for its owner. The owner's permissions come from their
//! roles and upstream groups, as `[access]` maps them.

use crate::app::Tx;
use crate::config::{Permission, ADMIN_ROLE};
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
