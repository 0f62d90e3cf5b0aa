//! What patgate asks of the database server itself: its clock (one clock
//! for decisions that span instances) and the settings that decide whether
//! an acknowledged write survives a failover.

use super::connection::{Db, DbConnection};
use super::StoreError;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Now {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    now: DateTime<Utc>,
}

/// A reading of the server's clock: (local before, server, local after).
pub type ServerTime = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);

impl Db {
    /// The PostgreSQL server's time (`clock_timestamp()`), with the local
    /// instants just before and after asking; `None` on SQLite, whose
    /// clock is this machine's.
    pub fn server_time(
        &self,
        local: impl Fn() -> DateTime<Utc>,
    ) -> Result<Option<ServerTime>, StoreError> {
        let mut conn = self.conn()?;
        let DbConnection::Postgres(c) = &mut **conn else {
            return Ok(None);
        };
        let before = local();
        let now = diesel::sql_query("SELECT clock_timestamp() AS now").get_result::<Now>(c)?;
        let after = local();
        Ok(Some((before, now.now, after)))
    }

    /// Warnings about settings under which PostgreSQL may acknowledge a
    /// write that a failover then loses: `synchronous_commit = off` (a
    /// created token gone, a revoked one working again after a standby is
    /// promoted); behind a transaction pooler, a role without a statement
    /// timeout. Empty on SQLite.
    pub fn setting_warnings(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let DbConnection::Postgres(c) = &mut **conn else {
            return Ok(Vec::new());
        };
        let setting = |c: &mut diesel::PgConnection, name: &str| {
            diesel::sql_query("SELECT current_setting($1) AS value")
                .bind::<diesel::sql_types::Text, _>(name)
                .get_result::<Setting>(c)
                .map(|s| s.value)
        };
        let mut warnings = Vec::new();
        if setting(c, "synchronous_commit")? == "off" {
            warnings.push(
                "PostgreSQL's synchronous_commit is off: a write patgate acknowledged (a token \
                 created, a token revoked) can be lost in a crash or a failover, and a revoked \
                 token work again; set it to on (or remote_apply with a synchronous standby)"
                    .to_string(),
            );
        }
        // Behind a transaction pooler patgate sends no session setting: the
        // role's own settings bound its statements.
        if self.transaction_pooler() && setting(c, "statement_timeout")? == "0" {
            warnings.push(
                "database_pooler = \"transaction\" and the role's statement_timeout is 0: a \
                 stuck statement holds a server connection for good; set one on the role \
                 (ALTER ROLE … SET statement_timeout = '5s', and lock_timeout)"
                    .to_string(),
            );
        }
        Ok(warnings)
    }
}
