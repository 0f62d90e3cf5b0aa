//! Expiry reminders: for each active token that expires within a configured
//! threshold, one notice per threshold, ever. A notice is claimed in the
//! database before it is sent (so two instances never both send it, and a
//! restart does not send it again) and given back if delivery fails.

use crate::app::Services;
use crate::clock::rfc3339;
use crate::error::InternalError;
use crate::mail::Email;
use crate::store::models::TokenRecord;
use crate::store::reminders as store;
use crate::store::TokenKind;
use crate::tokens::view::TokenView;
use serde_json::{json, Value};

/// A reminder to deliver.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The token it is about.
    pub token_id: String,
    /// The threshold it is for.
    pub threshold_seconds: i32,
    /// The JSON body to POST.
    pub payload: Value,
    /// The message to the owner, when email is configured and the owner
    /// (a user, not a service) has an address.
    pub email: Option<Email>,
}

/// Where mail about `token` goes: its owner's address, when email is
/// configured and the owner is a person (service tokens have no mailbox).
/// Blocking.
fn owner_address(
    svc: &Services,
    conn: &mut crate::store::DbConnection,
    token: &TokenRecord,
) -> Result<Option<String>, InternalError> {
    if svc.config.reminders.email.is_none() || token.kind != TokenKind::Personal {
        return Ok(None);
    }
    let user = crate::store::accounts::find_user(conn, &token.owner)?;
    Ok(user.and_then(|u| u.email))
}

/// The reminder to the owner of `token`, at `to`.
fn email_about(svc: &Services, token: &TokenRecord, to: String, left: &str) -> Email {
    let settings = svc.config.url("/settings/personal-tokens");
    let expires = token
        .expires_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let scopes = if token.scopes.is_empty() {
        "none".to_string()
    } else {
        token.scopes.join(", ")
    };
    Email {
        to,
        subject: format!("Your patgate token \"{}\" expires in {left}", token.name),
        body: format!(
            "Your personal access token \"{name}\" ({prefix}) on {issuer} expires at {expires} (in {left}).\n\n\
             Scopes: {scopes}\n\n\
             To keep access, create a new token before then:\n{settings}\n\n\
             If you no longer need it, do nothing: it stops working when it expires.\n",
            name = token.name,
            prefix = crate::tokens::view::prefix_of(token),
            issuer = svc.config.issuer_id(),
        ),
    }
}

fn human(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{}m", s / 60),
    }
}

/// Claims every reminder due now and returns the notices to send. A token
/// inside several thresholds gets one notice, for the tightest; the wider
/// ones are marked done without a notice. Blocking.
pub fn claim_due(svc: &Services) -> Result<Vec<Notice>, InternalError> {
    let thresholds: Vec<i64> = svc
        .config
        .reminders
        .thresholds
        .iter()
        .map(|t| t.seconds())
        .collect();
    let Some(widest) = thresholds.iter().max().copied() else {
        return Ok(vec![]);
    };
    let now = svc.now();
    let until = now + chrono::Duration::seconds(widest);
    let mut conn = svc.conn()?;
    let mut notices = Vec::new();
    let mut after = None;
    // Batches in expiry order; at most MAX_NOTICES a run (the rest are
    // still unclaimed, so the next run finds them).
    while notices.len() < MAX_NOTICES {
        let batch = store::expiring(&mut conn, now, until, after.as_ref(), SCAN_BATCH)?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.expires_at.map(|e| (e.naive_utc(), last.id.clone()));
        let full = batch.len() as i64 == SCAN_BATCH;
        claim_batch(svc, &mut conn, &thresholds, now, batch, &mut notices)?;
        if !full {
            break;
        }
    }
    Ok(notices)
}

/// Tokens scanned per query.
const SCAN_BATCH: i64 = 500;
/// Notices one run claims at most.
const MAX_NOTICES: usize = 500;

/// Claims the reminders due for `batch`, adding a notice for each to `notices`.
fn claim_batch(
    svc: &Services,
    conn: &mut crate::store::DbConnection,
    thresholds: &[i64],
    now: chrono::DateTime<chrono::Utc>,
    batch: Vec<crate::store::models::TokenRecord>,
    notices: &mut Vec<Notice>,
) -> Result<(), InternalError> {
    for token in batch {
        let Some(expires_at) = token.expires_at else {
            continue;
        };
        let left = (expires_at - now).num_seconds();
        let mut applicable: Vec<i64> = thresholds.iter().copied().filter(|t| left <= *t).collect();
        applicable.sort_unstable();
        let Some(tightest) = applicable.first().copied() else {
            continue;
        };
        let tightest_secs = i32::try_from(tightest).unwrap_or(i32::MAX);
        if store::claim(conn, &token.id, tightest_secs, now)? {
            let email = owner_address(svc, conn, &token)?
                .map(|to| email_about(svc, &token, to, &human(tightest)));
            notices.push(Notice {
                email,
                token_id: token.id.clone(),
                threshold_seconds: tightest_secs,
                payload: json!({
                    "event": "token.expiring",
                    "issuer": svc.config.issuer_id(),
                    "threshold": human(tightest),
                    "thresholdSeconds": tightest,
                    "expiresAt": rfc3339(expires_at),
                    "token": TokenView::new(&token, now),
                }),
            });
        }
        for wider in &applicable[1..] {
            store::claim(
                conn,
                &token.id,
                i32::try_from(*wider).unwrap_or(i32::MAX),
                now,
            )?;
        }
    }
    Ok(())
}

/// The notice to the owner of `record`, revoked because it leaked: the
/// webhook's `token.leaked` event and, for a person with an address, an
/// email. Blocking.
pub fn leak_notice(
    svc: &Services,
    record: &TokenRecord,
    context: &crate::leaks::LeakContext,
) -> Result<Notice, InternalError> {
    let now = svc.now();
    let address = owner_address(svc, &mut *svc.conn()?, record)?;
    let email = address.map(|to| Email {
                to,
                subject: format!("Your patgate token \"{}\" leaked and was revoked", record.name),
                body: format!(
                    "Your personal access token \"{name}\" ({prefix}) on {issuer} was reported as leaked and is revoked: it no longer works.\n\n\
                     Found at: {url}\n\n\
                     Create a new token, and check where the old one was used:\n{settings}\n",
                    name = record.name,
                    prefix = crate::tokens::view::prefix_of(record),
                    issuer = svc.config.issuer_id(),
                    url = context.url.as_deref().unwrap_or("(not given)"),
                    settings = svc.config.url("/settings/personal-tokens"),
                ),
    });
    Ok(Notice {
        token_id: record.id.clone(),
        threshold_seconds: 0,
        payload: json!({
            "event": "token.leaked",
            "issuer": svc.config.issuer_id(),
            "url": context.url, "source": context.source,
            "token": TokenView::new(record, now),
        }),
        email,
    })
}

/// Gives a notice back after a failed delivery; the next run retries it. Blocking.
pub fn release(svc: &Services, notice: &Notice) -> Result<(), InternalError> {
    Ok(store::release(
        &mut *svc.conn()?,
        &notice.token_id,
        notice.threshold_seconds,
    )?)
}
