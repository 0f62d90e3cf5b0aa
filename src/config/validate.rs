//! Checks on a loaded configuration; every message names the key.

use super::{Config, ConfigError, MaxTokenLifetime};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("key `{key}`: {why}")));
        let access = self.access_token_ttl.seconds();
        if !(60..=86_400).contains(&access) {
            return bad("access_token_ttl", "must be between 1 minute and 24 hours");
        }
        if !matches!(self.issuer.scheme(), "http" | "https") || self.issuer.query().is_some() {
            return bad(
                "issuer",
                "must be an http(s) URL without a query (RFC 8414 §2)",
            );
        }
        if self.token_default_ttl.seconds() < 60 {
            return bad("token_default_ttl", "must be at least 1 minute");
        }
        if let MaxTokenLifetime::Limited(max) = self.token_max_ttl {
            if self.token_default_ttl.seconds() > max.seconds() {
                return bad("token_default_ttl", "exceeds token_max_ttl");
            }
        }
        if self.database_pool_size == 0 {
            return bad("database_pool_size", "must be at least 1");
        }
        if let Some(url) = &self.database_url {
            if url.trim().is_empty() {
                return bad("database_url", "must not be empty");
            }
        }
        if let Some(name) = self
            .scopes
            .keys()
            .find(|s| !crate::syntax::is_scope_token(s))
        {
            return bad(
                "scopes",
                &format!("{name:?} is not a valid scope name (RFC 6749 §3.3)"),
            );
        }
        for (i, c) in self.clients.iter().enumerate() {
            let key = format!("clients[{i}]");
            if c.id.trim().is_empty() || c.redirect_uris.is_empty() {
                return bad(&key, "needs an id and at least one redirect URI");
            }
            if let Some(u) = c
                .redirect_uris
                .iter()
                .find(|u| !crate::syntax::is_registrable_redirect(u))
            {
                return bad(
                    &key,
                    &format!("redirect URI {u:?} is not an absolute URL without fragment"),
                );
            }
            if let Some(s) = c.scopes.iter().find(|s| !self.scopes.contains_key(*s)) {
                return bad(&key, &format!("scope {s:?} is not in the scope catalogue"));
            }
            if c.secret_hash
                .as_deref()
                .is_some_and(|h| !crate::secret::hashing::SecretHasher::is_supported(h))
            {
                return bad(&key, "secret_hash must be an argon2id PHC string");
            }
        }
        if let Some(problem) = self.sso.problem() {
            return bad("sso", &problem);
        }
        if let Some(problem) = self.compat.problem() {
            return bad("compat", problem);
        }
        if let Some(problem) = self.access.problem() {
            return bad("access", &problem);
        }
        let catalogue: Vec<&String> = self.scopes.keys().collect();
        if let Some(problem) = super::resources::problem(&self.resources, &catalogue) {
            return bad("resources", &problem);
        }
        for key in &self.leaks.partner_keys {
            if let Err(why) = crate::secret::p256::public_key(&key.pem) {
                return bad("leaks.partner_keys", &format!("key {:?}: {why}", key.id));
            }
        }
        if let Some(email) = &self.reminders.email {
            if let Err(why) = crate::mail::Mailer::new(email.smtp_url.0.expose(), &email.from) {
                return bad("reminders.email", &why);
            }
        }
        if self.session_idle_timeout.seconds() > self.session_max_age.seconds() {
            return bad("session_idle_timeout", "exceeds session_max_age");
        }
        let h = &self.hashing;
        if h.argon2_memory_kib < 8 * h.argon2_parallelism.max(1) || h.argon2_iterations == 0 {
            return bad(
                "hashing",
                "argon2 memory must be at least 8 KiB per lane and iterations at least 1",
            );
        }
        if h.argon2_parallelism == 0 || h.max_concurrent == 0 {
            return bad(
                "hashing",
                "argon2_parallelism and max_concurrent must be at least 1",
            );
        }
        Ok(())
    }
}
