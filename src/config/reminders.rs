//! `[reminders]`: expiry reminders by webhook and by email.

use super::{defaults, SecretKeyValue, Ttl};
use serde::Deserialize;
use url::Url;

/// Expiry reminders: where to POST them and how long before expiry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderConfig {
    /// The webhook that receives a JSON notice per token and threshold; none: no reminders.
    #[serde(default)]
    pub webhook_url: Option<Url>,
    /// How long before expiry to remind (each at most once per token).
    #[serde(default = "defaults::reminder_thresholds")]
    pub thresholds: Vec<Ttl>,
    /// How often to look for tokens to remind about.
    #[serde(default = "defaults::reminder_check_every")]
    pub check_every: Ttl,
    /// Reminders by email to the owner's address (from SSO or
    /// `patgate admin user email`), besides the webhook.
    #[serde(default)]
    pub email: Option<EmailConfig>,
}

/// `[reminders.email]`: where reminders are sent from, and through which
/// SMTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://host:25` (plain), `smtp://host:587?tls=required` (STARTTLS)
    /// or `smtps://user:password@host` (TLS); credentials in the URL.
    pub smtp_url: SecretKeyValue,
    /// The sender, `patgate <patgate@example.com>`.
    pub from: String,
}

impl ReminderConfig {
    /// Whether any reminder channel is configured.
    pub fn enabled(&self) -> bool {
        self.webhook_url.is_some() || self.email.is_some()
    }
}

impl Default for ReminderConfig {
    fn default() -> Self {
        Self {
            webhook_url: None,
            thresholds: defaults::reminder_thresholds(),
            check_every: defaults::reminder_check_every(),
            email: None,
        }
    }
}
