//! `POST /api/leaked-tokens`: anyone reports leaked patgate tokens (see
//! [`crate::leaks`]). Three callers, one route:
//! - anyone, `{"tokens": [...], "url"?, "source"?, "note"?}` → `202` with
//!   the count only, whatever the tokens were, once every token was checked;
//!   limited per address, and each full verification of a secret is charged
//!   to the address (inactive and unknown ids cost none); when that budget
//!   ran out first, `429` with `Retry-After` (the checked ones stay revoked);
//! - a caller whose bearer JWT may see the results (policy
//!   `SeeLeakResults`) → `200` with each token's outcome;
//! - a secret-scanning partner, a signed JSON array (GitHub's format) →
//!   `200` with a `true_positive`/`false_positive` label per token; unsigned
//!   or wrongly signed arrays are refused with `401`.

use crate::app::Services;
use crate::leaks::partner::{PartnerAlert, PartnerLabel, KEY_ID_HEADER, SIGNATURE_HEADER};
use crate::leaks::{self, LeakContext, LeakOutcome, MAX_TOKENS};
use crate::limits::Throttled;
use crate::oauth::token_check::Verify;
use crate::policy::{Action, Origin, Policy};
use crate::reminders::Notice;
use crate::secret::lanes::Lane;
use crate::web::auth::authenticate;
use crate::web::errors::{no_store, ApiError};
use crate::web::request::{client_ip, origin};
use crate::web::{blocking, hashing_turn, WebState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A report from anyone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeakReport {
    /// The tokens found (at most 1,000).
    tokens: Vec<String>,
    /// Where they were found.
    #[serde(default)]
    url: Option<String>,
    /// What found them.
    #[serde(default)]
    source: Option<String>,
    /// Anything else the owner should know.
    #[serde(default)]
    note: Option<String>,
}

/// One token's outcome, for callers who may see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LeakResult {
    /// The token's public part (`pat_<id>`), or `null` when malformed.
    token: Option<String>,
    /// `revoked`, `inactive`, `unknown`, `malformed` or `throttled`.
    result: &'static str,
}

/// `202` for anyone: how many tokens were received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LeakReceipt {
    /// Tokens received.
    received: usize,
}

enum Caller {
    Anyone(Option<std::net::IpAddr>),
    Administrator,
    Partner(String),
}

/// `POST /api/leaked-tokens`.
#[utoipa::path(post, path = "/api/leaked-tokens", tag = "leaks",
    description = "Report leaked tokens: each genuine, active one is revoked with reason `leaked` and its owner told.",
    request_body = LeakReport,
    responses((status = 202, description = "Received (says nothing about which tokens existed)", body = LeakReceipt),
        (status = 200, description = "For a caller allowed to see results, or a signed partner alert (a label per token)", body = Vec<LeakResult>),
        (status = 400, description = "Malformed, or more than 1,000 tokens", body = crate::web::dto::ApiErrorBody),
        (status = 401, description = "A partner alert without a valid signature", body = crate::web::dto::ApiErrorBody),
        (status = 413, description = "Body too large"),
        (status = 429, description = "Too many reports from this address, or not every token could be checked yet: send the report again after `Retry-After`")))]
pub async fn report(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let from = origin(&req, &svc);
    let signed = req.headers().get(SIGNATURE_HEADER).is_some();
    if signed || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let key_id = header(&req, KEY_ID_HEADER).ok_or(ApiError::Unauthorized)?;
        let signature = header(&req, SIGNATURE_HEADER).ok_or(ApiError::Unauthorized)?;
        let key = state.leak_keys.key(&svc.config.leaks, &key_id).await;
        if !key.is_some_and(|k| leaks::partner::signed_by(&k, &body, &signature)) {
            return Err(ApiError::Unauthorized);
        }
        let alerts: Vec<PartnerAlert> = parse(&body)?;
        let context = |a: &PartnerAlert| LeakContext {
            url: LeakContext::bounded(a.url.as_deref()),
            source: LeakContext::bounded(a.source.as_deref()),
            note: None,
            partner: Some(key_id.clone()),
        };
        let reports = alerts
            .iter()
            .map(|a| (a.token.clone(), context(a)))
            .collect();
        let outcomes = check(
            &svc,
            &state,
            reports,
            &from,
            Caller::Partner(key_id.clone()),
        )
        .await?;
        let labels: Vec<PartnerLabel> = alerts
            .into_iter()
            .zip(outcomes)
            .map(|(a, o)| PartnerLabel {
                token_raw: a.token,
                token_type: a.kind.unwrap_or_default(),
                label: if o.is_genuine() {
                    "true_positive"
                } else {
                    "false_positive"
                },
            })
            .collect();
        return Ok(no_store(&mut HttpResponse::Ok()).json(labels));
    }
    let caller = match crate::web::auth::bearer(&req) {
        None => Caller::Anyone(client_ip(&req, &svc.config.trusted_proxies)),
        Some(_) => {
            let who = authenticate(&req).await?;
            Policy::of(&svc.config)
                .check(&who, Action::SeeLeakResults)
                .map_err(ApiError::Denied)?;
            Caller::Administrator
        }
    };
    if let Caller::Anyone(ip) = &caller {
        state.limits.anonymous_write(*ip)?;
    }
    let input: LeakReport = parse(&body)?;
    let context = LeakContext {
        url: LeakContext::bounded(input.url.as_deref()),
        source: LeakContext::bounded(input.source.as_deref()),
        note: LeakContext::bounded(input.note.as_deref()),
        partner: None,
    };
    let received = input.tokens.len();
    let reports = input
        .tokens
        .iter()
        .map(|t| (t.clone(), context.clone()))
        .collect();
    let anyone = matches!(caller, Caller::Anyone(_));
    let outcomes = check(&svc, &state, reports, &from, caller).await?;
    if anyone {
        return Ok(
            no_store(&mut HttpResponse::build(StatusCode::ACCEPTED)).json(LeakReceipt { received })
        );
    }
    let results: Vec<LeakResult> = input
        .tokens
        .iter()
        .zip(outcomes)
        .map(|(raw, o)| LeakResult {
            token: leaks::token_id(raw).map(|id| format!("{}_{id}", &raw[..3])),
            result: o.as_str(),
        })
        .collect();
    Ok(no_store(&mut HttpResponse::Ok()).json(results))
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    Some(req.headers().get(name)?.to_str().ok()?.trim().to_string())
}

/// The body as `T`, with at most [`MAX_TOKENS`] entries checked by the caller.
fn parse<T: serde::de::DeserializeOwned + Counted>(body: &[u8]) -> Result<T, ApiError> {
    let value: T =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    if value.count() > MAX_TOKENS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_TOKENS} tokens per report"
        )));
    }
    Ok(value)
}

trait Counted {
    fn count(&self) -> usize;
}

impl Counted for LeakReport {
    fn count(&self) -> usize {
        self.tokens.len()
    }
}

impl Counted for Vec<PartnerAlert> {
    fn count(&self) -> usize {
        self.len()
    }
}

/// Checks each reported token in order on the blocking pool (a hashing
/// turn each), charging anyone's full verifications to their address (and
/// to that token id from that address, never to the id alone, so nobody
/// else can spend a reporter's budget); then tells the owners of the
/// revoked ones. When anyone's budget ran out before every token was
/// checked, the answer is 429 with `Retry-After`, never a receipt: the
/// reporter sends the report again and the rest are checked then.
async fn check(
    svc: &Arc<Services>,
    state: &WebState,
    reports: Vec<(String, LeakContext)>,
    from: &Origin,
    caller: Caller,
) -> Result<Vec<LeakOutcome>, ApiError> {
    let mut outcomes = Vec::with_capacity(reports.len());
    let mut notices: Vec<Notice> = Vec::new();
    let mut unchecked: Option<Throttled> = None;
    let which = match caller {
        Caller::Anyone(_) => Verify::UsableOnly,
        Caller::Administrator | Caller::Partner(_) => Verify::Any,
    };
    for (raw, context) in reports {
        if let Caller::Anyone(ip) = &caller {
            let (s, r) = (svc.clone(), raw.clone());
            let costly = blocking(move || leaks::needs_verification(&s, &r)).await?;
            let id = leaks::token_id(&raw);
            if costly {
                if let Err(t) = state.limits.cold_verification(id.as_deref(), *ip) {
                    let later =
                        unchecked.map_or(t, |u| if u.retry_after > t.retry_after { u } else { t });
                    unchecked = Some(later);
                    outcomes.push(LeakOutcome::Throttled);
                    continue;
                }
            }
        }
        // A turn per token, so a long batch does not hold the lane.
        let turn = hashing_turn(svc, Lane::Client).await?;
        let (s, from) = (svc.clone(), from.clone());
        let (outcome, revoked) = blocking(move || {
            let (outcome, revoked) = leaks::report(&s, &raw, &context, &from, which)?;
            let notice = match revoked {
                Some(record) => Some(crate::reminders::leak_notice(&s, &record, &context)?),
                None => None,
            };
            Ok::<_, crate::error::InternalError>((outcome, notice))
        })
        .await?;
        drop(turn);
        notices.extend(revoked);
        outcomes.push(outcome);
    }
    if let Caller::Partner(key) = &caller {
        tracing::info!(partner_key = %key, tokens = outcomes.len(), "secret-scanning alert checked");
    }
    if !notices.is_empty() {
        actix_web::rt::spawn(super::super::jobs::send_now(svc.clone(), notices));
    }
    match unchecked {
        Some(t) => Err(ApiError::Throttled(t)),
        None => Ok(outcomes),
    }
}
