//! Email through SMTP (`lettre`): expiry reminders to a token's owner.
//! Sending blocks (a connection per message); callers run it on the
//! blocking pool.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{Message, SmtpTransport, Transport};
use std::time::Duration;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One plain-text message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub body: String,
}

/// An SMTP transport and the sender address.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// The mailer of `[reminders.email]` (`smtp_url`, `from`), or why the settings do not work.
    /// The message never repeats the URL, which may carry a password.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("from {from:?} is not an address: {e}"))?;
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err("smtp_url must start with smtp:// or smtps://".into());
        }
        let transport = SmtpTransport::from_url(url)
            .map_err(|_| "smtp_url is not a valid SMTP URL".to_string())?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Mailer { transport, from })
    }

    /// Sends `email`. Blocking.
    pub fn send(&self, email: &Email) -> Result<(), String> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| format!("recipient is not an address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}
