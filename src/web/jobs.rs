//! Background jobs each instance runs: purging expired rows, writing
//! exchange counts to the audit log, rolling up and trimming it, and
//! sending expiry reminders.

use super::{blocking, WebState};
use crate::app::Services;
use crate::error::InternalError;
use crate::reminders;
use actix_web::web;
use std::sync::Arc;
use std::time::Duration;

/// How often expired rows are deleted.
pub const PURGE_PERIOD: Duration = Duration::from_secs(300);

/// How often the audit trail is rolled up and trimmed (`[audit]`).
pub const AUDIT_MAINTENANCE_PERIOD: Duration = Duration::from_secs(300);

/// Batches of each kind one audit maintenance pass does at most.
const AUDIT_MAINTENANCE_BATCHES: usize = 20;

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
    let maintain = |s: &Services| {
        crate::audit::retention::maintain(s, AUDIT_MAINTENANCE_BATCHES)
            .map(|m| m.total())
            .map_err(InternalError::from)
    };
    actix_web::rt::spawn(periodically(
        svc.clone(),
        AUDIT_MAINTENANCE_PERIOD,
        "rolling up and trimming the audit trail",
        maintain,
    ));
    // One clock across instances: the offset from the database's, again
    // every minute (a machine's clock drifts, or is stepped by NTP).
    let follow = |s: &Services| {
        s.follow_database_clock()
            .map(|_| 0)
            .map_err(InternalError::from)
    };
    actix_web::rt::spawn(periodically(
        svc.clone(),
        MINUTE,
        "measuring the clock against the database's",
        follow,
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
    if svc.config.reminders.enabled() {
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

/// Claims the reminders due and sends each to the webhook and, by email, to
/// the owner; a notice any channel failed is given back for the next run
/// (so a channel that worked may see it again: delivery is at least once
/// per channel). Returns how many were delivered everywhere.
pub async fn send_expiry_reminders(svc: Arc<Services>) -> Result<usize, InternalError> {
    if !svc.config.reminders.enabled() {
        return Ok(0);
    }
    let s = svc.clone();
    let notices = blocking(move || reminders::claim_due(&s)).await?;
    let channels = Channels::of(&svc)?;
    let mut delivered = 0;
    for notice in notices {
        let failures = channels.deliver(&svc, &notice).await?;
        if failures.is_empty() {
            delivered += 1;
            continue;
        }
        let why = failures.join("; ");
        tracing::warn!(token_id = %notice.token_id, %why, "expiry reminder not delivered; will retry");
        let s = svc.clone();
        blocking(move || reminders::release(&s, &notice)).await?;
    }
    Ok(delivered)
}

/// Where notices go: the webhook's HTTP client and, when configured, the mailer.
struct Channels {
    http: reqwest::Client,
    mailer: Option<Arc<crate::mail::Mailer>>,
}

impl Channels {
    /// The channels `[reminders]` configures.
    fn of(svc: &Services) -> Result<Self, InternalError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| InternalError::HttpClient(e.to_string()))?;
        let mailer = match &svc.config.reminders.email {
            // Checked when the configuration was loaded.
            Some(email) => Some(Arc::new(
                crate::mail::Mailer::new(email.smtp_url.0.expose(), &email.from)
                    .map_err(InternalError::ConfiguredFile)?,
            )),
            None => None,
        };
        Ok(Channels { http, mailer })
    }

    /// Sends `notice` on every configured channel; what failed, in words.
    async fn deliver(
        &self,
        svc: &Services,
        notice: &reminders::Notice,
    ) -> Result<Vec<String>, InternalError> {
        let mut failures = Vec::new();
        if let Some(url) = &svc.config.reminders.webhook_url {
            match self
                .http
                .post(url.clone())
                .json(&notice.payload)
                .send()
                .await
            {
                Ok(res) if res.status().is_success() => {}
                Ok(res) => failures.push(format!("webhook: {}", res.status())),
                Err(e) => failures.push(format!("webhook: {e}")),
            }
        }
        if let (Some(mailer), Some(email)) = (&self.mailer, notice.email.clone()) {
            let mailer = mailer.clone();
            let sent = blocking(move || Ok::<_, InternalError>(mailer.send(&email))).await?;
            if let Err(why) = sent {
                failures.push(format!("email: {why}"));
            }
        }
        Ok(failures)
    }
}

/// Sends `notices` once each, now (leaked tokens' owners); a failure is
/// logged, not retried.
pub async fn send_now(svc: Arc<Services>, notices: Vec<reminders::Notice>) {
    let channels = match Channels::of(&svc) {
        Ok(c) => c,
        Err(e) => return tracing::warn!(error = %e, "leak notices not sent"),
    };
    for notice in notices {
        let why = match channels.deliver(&svc, &notice).await {
            Ok(f) if f.is_empty() => continue,
            Ok(f) => f.join("; "),
            Err(e) => e.to_string(),
        };
        tracing::warn!(token_id = %notice.token_id, %why, "leak notice not delivered");
    }
}
