//! Leaked-token response: anyone who finds patgate tokens (a person, a
//! scanner, a secret-scanning partner) reports them; each one that is
//! genuine (checksum, id and secret all match) and still active is revoked
//! at once with reason `leaked`, the report recorded in the audit trail,
//! and its owner told. Possession of the secret is the proof, as for
//! RFC 7009 revocation, so a report cannot revoke a token by its public id.

pub mod partner;

use crate::app::Services;
use crate::audit::{self, Event};
use crate::error::{InternalError, OpError};
use crate::oauth::token_check::{self, Verify};
use crate::policy::{Action, Origin, Policy, Principal};
use crate::store::models::TokenRecord;
use crate::store::tokens as token_store;
use crate::tokens::format::PresentedToken;
use serde_json::json;

/// The most tokens one report may carry.
pub const MAX_TOKENS: usize = 1000;
/// The longest note, URL or source kept from a report.
pub const MAX_TEXT_CHARS: usize = 500;

/// Where a report says the tokens were found.
#[derive(Debug, Clone, Default)]
pub struct LeakContext {
    /// Where (a URL).
    pub url: Option<String>,
    /// What found it (`content`, `commit`, a scanner's name).
    pub source: Option<String>,
    /// The reporter's words.
    pub note: Option<String>,
    /// The partner key id that signed the report, when signed.
    pub partner: Option<String>,
}

impl LeakContext {
    /// `text` cut to [`MAX_TEXT_CHARS`], without control characters.
    pub fn bounded(text: Option<&str>) -> Option<String> {
        text.map(|t| {
            t.chars()
                .filter(|c| !c.is_control())
                .take(MAX_TEXT_CHARS)
                .collect()
        })
    }
}

/// What a report did to one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakOutcome {
    /// Genuine and active: revoked now.
    Revoked,
    /// Genuine, but revoked or expired already.
    Inactive,
    /// Well-formed, but no such token or not its secret.
    Unknown,
    /// Not a patgate token (format or checksum).
    Malformed,
    /// Not checked: the reporter's budget of full verifications is spent.
    Throttled,
}

impl LeakOutcome {
    /// The name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            LeakOutcome::Revoked => "revoked",
            LeakOutcome::Inactive => "inactive",
            LeakOutcome::Unknown => "unknown",
            LeakOutcome::Malformed => "malformed",
            LeakOutcome::Throttled => "throttled",
        }
    }

    /// Whether the token was genuine (a secret-scanning `true_positive`).
    pub fn is_genuine(self) -> bool {
        matches!(self, LeakOutcome::Revoked | LeakOutcome::Inactive)
    }
}

/// The id of `raw` if it is a well-formed patgate token.
pub fn token_id(raw: &str) -> Option<String> {
    PresentedToken::parse(raw).ok().map(|p| p.id)
}

/// Whether checking `raw` may need a full hash: a well-formed token whose
/// id names a usable token (forged, revoked, expired and suspended ids cost
/// one indexed read and no hashing). Blocking.
pub fn needs_verification(svc: &Services, raw: &str) -> Result<bool, InternalError> {
    let Some(id) = token_id(raw) else {
        return Ok(false);
    };
    let record = svc.read(|tx| token_store::find(tx.conn, &id))?;
    Ok(record.is_some_and(|r| active(svc, &r)))
}

fn active(svc: &Services, record: &TokenRecord) -> bool {
    crate::tokens::status(record, svc.now()).is_usable()
}

/// Checks one reported token and revokes it when genuine and active, on
/// behalf of the reporter at `from`. `which` says whether an inactive token
/// is worth a full hash (to a signed partner or an administrator, who learn
/// "genuine but inactive"; never to anyone, whose inactive ids cost no
/// hashing). Returns what happened and, when it was revoked, the record
/// (for the owner's notice). Blocking (a full hash when the secret is not
/// in the verified cache).
pub fn report(
    svc: &Services,
    raw: &str,
    context: &LeakContext,
    from: &Origin,
    which: Verify,
) -> Result<(LeakOutcome, Option<TokenRecord>), InternalError> {
    if PresentedToken::parse(raw).is_err() {
        return Ok((LeakOutcome::Malformed, None));
    }
    let Some(record) = svc.read(|tx| token_check::genuine(tx, raw, which))? else {
        return Ok((LeakOutcome::Unknown, None));
    };
    if !active(svc, &record) {
        return Ok((LeakOutcome::Inactive, None));
    }
    // The secret is the proof: the reporter may revoke this one token.
    let reporter = Principal::secret_holder(&record.id, "leak-report", from.clone());
    let revoked = svc.write(|tx| {
        Policy::of(tx.config()).check(&reporter, Action::Revoke(&record))?;
        if !token_store::revoke(tx.conn, &record.id, &reporter.label(), tx.now())? {
            return Ok(false);
        }
        let details = json!({
            "reason": "leaked", "url": context.url, "source": context.source,
            "note": context.note, "partner": context.partner,
        });
        audit::record(tx, &record.id, Event::Revoked, &reporter, details)?;
        Ok::<_, OpError>(true)
    });
    match revoked {
        Ok(true) => {
            tracing::warn!(token_id = %record.id, owner = %record.owner, url = ?context.url, "leaked token revoked");
            Ok((LeakOutcome::Revoked, Some(record)))
        }
        // Revoked by someone else meanwhile.
        Ok(false) => Ok((LeakOutcome::Inactive, None)),
        Err(OpError::Internal(e)) => Err(e),
        Err(e) => Err(InternalError::Answer(e.to_string())),
    }
}
