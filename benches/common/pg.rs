//! PostgreSQL for the bench commands: a fresh schema per run, and the
//! database's own counts of transactions and backend CPU time, to state
//! the round trips and the database CPU behind each exchange.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// How long the bench waits before reading the statistics: a backend that
/// goes idle reports its counts within ten seconds (`PGSTAT_IDLE_INTERVAL`).
pub const STATS_SETTLE: std::time::Duration = std::time::Duration::from_secs(11);

/// A fresh schema in the PostgreSQL database at `base`, dropped on drop.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    /// Creates the schema; with the URL the server should use (the schema
    /// first on its search path, and an `application_name` to find its
    /// connections by).
    pub fn create(base: &str) -> (PgSchema, String) {
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(base).expect("PostgreSQL reachable");
        conn.batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("create schema");
        let mut url = url::Url::parse(base).expect("a PostgreSQL URL");
        // libpq reads `%20`, not `+`, as a space.
        url.set_query(Some(&format!(
            "options=-c%20search_path%3D{name}&application_name={name}"
        )));
        let schema = PgSchema {
            base: base.to_string(),
            name,
        };
        (schema, url.to_string())
    }

    /// A probe of the server's backends of this schema.
    pub fn probe(&self) -> PgProbe {
        PgProbe {
            conn: PgConnection::establish(&self.base).expect("PostgreSQL reachable"),
            application: self.name.clone(),
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.base) {
            let _ = conn.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

/// Reads the database's committed transactions and the CPU ticks of the
/// server's backends.
pub struct PgProbe {
    conn: PgConnection,
    application: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

impl PgProbe {
    /// (transactions committed in this database so far, utime + stime
    /// ticks of the backends serving patgate). Take readings after
    /// [`STATS_SETTLE`] without load.
    pub fn reading(&mut self) -> (u64, u64) {
        let _ = self.conn.batch_execute("SELECT pg_stat_clear_snapshot()");
        let commits = diesel::sql_query(
            "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()",
        )
        .get_result::<Count>(&mut self.conn)
        .map_or(0, |c| c.n as u64);
        let pids =
            diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
                .bind::<diesel::sql_types::Text, _>(&self.application)
                .load::<Pid>(&mut self.conn)
                .unwrap_or_default();
        let ticks = pids
            .iter()
            .map(|p| super::load::cpu_ticks(p.pid as u32))
            .sum();
        (commits, ticks)
    }
}
