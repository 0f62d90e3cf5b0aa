//! Expiry reminders: for each active token that expires within a configured
//! threshold, one notice per threshold, ever. A notice is claimed in the
//! database before it is sent (so two instances never both send it, and a
//! restart does not send it again) and given back if delivery fails.

use crate::app::Services;
use crate::clock::rfc3339;
use crate::error::InternalError;
use crate::store::reminders as store;
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
    let mut conn = svc.conn()?;
    let mut notices = Vec::new();
    for token in store::expiring(&mut conn, now, now + chrono::Duration::seconds(widest))? {
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
        if store::claim(&mut conn, &token.id, tightest_secs, now)? {
            notices.push(Notice {
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
                &mut conn,
                &token.id,
                i32::try_from(*wider).unwrap_or(i32::MAX),
                now,
            )?;
        }
    }
    Ok(notices)
}

/// Gives a notice back after a failed delivery; the next run retries it. Blocking.
pub fn release(svc: &Services, notice: &Notice) -> Result<(), InternalError> {
    Ok(store::release(
        &mut *svc.conn()?,
        &notice.token_id,
        notice.threshold_seconds,
    )?)
}
