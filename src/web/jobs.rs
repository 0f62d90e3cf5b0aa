//! Background jobs each instance runs: purging expired rows, writing
//! exchange counts to the audit log, and sending expiry reminders.

use super::{blocking, WebState};
use crate::app::Services;
use crate::error::InternalError;
use crate::reminders;
use actix_web::web;
use std::sync::Arc;
use std::time::Duration;

/// How often expired rows are deleted.
pub const PURGE_PERIOD: Duration = Duration::from_secs(300);

/// How often rate-limit keys are tidied and refusals summarised in the log.
pub const MINUTE: Duration = Duration::from_secs(60);

/// How often counted exchanges are written to the audit log.
pub const AUDIT_FLUSH_PERIOD: Duration = Duration::from_secs(5);

/// Starts the jobs on the current actix runtime.
pub fn start(svc: web::Data<Services>, state: web::Data<WebState>) {
    let purge = |s: &Services| {
        s.purge_expired()
            .map(|p| p.authorization_sessions + p.browser_sessions + p.throttle_entries)
    };
    actix_web::rt::spawn(periodically(
        svc.clone(),
        PURGE_PERIOD,
        "purging expired rows",
        purge,
    ));
    let shared = state.clone();
    actix_web::rt::spawn(async move {
        let mut every =
            actix_web::rt::time::interval_at(actix_web::rt::time::Instant::now() + MINUTE, MINUTE);
        loop {
            every.tick().await;
            shared.limits.forget_idle();
            shared.refusals.summarise();
        }
    });
    let s = svc.clone();
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(AUDIT_FLUSH_PERIOD);
        let mut failing = false;
        loop {
            every.tick().await;
            let (svc, state) = (s.clone().into_inner(), state.clone().into_inner());
            let flushed = blocking(move || {
                Ok::<_, InternalError>(state.exchange_counts.flush(&svc.db, svc.random.as_ref())?)
            });
            match flushed.await {
                Ok(n) => tracing::debug!(rows = n, "writing exchange counts done"),
                // Kept for the next flush; logged once per failure streak.
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "writing exchange counts failed; will retry");
                    }
                    failing = true;
                    continue;
                }
            }
            if failing {
                tracing::info!("writing exchange counts works again");
            }
            failing = false;
        }
    });
    if svc.config.reminders.webhook_url.is_some() {
        let period = Duration::from_secs(svc.config.reminders.check_every.seconds().unsigned_abs());
        actix_web::rt::spawn(async move {
            // The first run comes one period after start-up.
            let mut every = actix_web::rt::time::interval_at(
                actix_web::rt::time::Instant::now() + period,
                period,
            );
            loop {
                every.tick().await;
                if let Err(e) = send_expiry_reminders(svc.clone().into_inner()).await {
                    tracing::warn!(error = %e, "sending expiry reminders failed");
                }
            }
        });
    }
}

/// Runs `job` on the blocking pool now and then every `period`.
async fn periodically(
    svc: web::Data<Services>,
    period: Duration,
    what: &'static str,
    job: fn(&Services) -> Result<usize, InternalError>,
) {
    let mut every = actix_web::rt::time::interval(period);
    loop {
        every.tick().await;
        let s = svc.clone().into_inner();
        match blocking(move || job(&s)).await {
            Ok(n) => tracing::debug!(rows = n, "{what} done"),
            Err(e) => tracing::warn!(error = %e, "{what} failed"),
        }
    }
}

/// Claims the reminders due and POSTs each to the webhook; a failed delivery
/// is given back for the next run. Returns how many were delivered.
pub async fn send_expiry_reminders(svc: Arc<Services>) -> Result<usize, InternalError> {
    let Some(url) = svc.config.reminders.webhook_url.clone() else {
        return Ok(0);
    };
    let s = svc.clone();
    let notices = blocking(move || reminders::claim_due(&s)).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| InternalError::HttpClient(e.to_string()))?;
    let mut delivered = 0;
    for notice in notices {
        let sent = client.post(url.clone()).json(&notice.payload).send().await;
        match sent {
            Ok(res) if res.status().is_success() => delivered += 1,
            outcome => {
                let why = outcome.map_or_else(|e| e.to_string(), |r| r.status().to_string());
                tracing::warn!(token_id = %notice.token_id, %why, "expiry reminder not delivered; will retry");
                let s = svc.clone();
                blocking(move || reminders::release(&s, &notice)).await?;
            }
        }
    }
    Ok(delivered)
}
