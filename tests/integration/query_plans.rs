//! Every listing reads an index in its sort order (issue #21): the plans of
//! the admin lists, a person's own list, the reminder scan, the events
//! about a person and the users list, on both backends. SQLite must name
//! the index and use no temporary B-tree for `ORDER BY`; PostgreSQL, with
//! sequential scans and sorts priced out (its planner prefers them on small
//! tables), must use the index and no Sort node. The queries are written
//! here in the shape the store's queries have (filters, order, keyset).

use crate::both_backends;
use crate::support::{TestApp, TestDb};
use diesel::prelude::*;
use diesel::sql_types::Text;
use patgate::store::DbConnection;

both_backends!(listings_read_an_index_in_their_order);

/// (what, query, index it must use, `|` between the backends' names);
/// all but the users list must also start from a range of the index
/// (SQLite `SEARCH`, PostgreSQL `Index Cond`), not walk it from one end.
const QUERIES: [(&str, &str, &str); 9] = [
    (
        "admin list of one kind, a keyset page",
        "SELECT id FROM access_tokens WHERE kind = 'service' \
         AND created_at <= '2026-12-01 00:00:00' AND (created_at < '2026-12-01 00:00:00' OR id < 'x') \
         ORDER BY created_at DESC, id DESC LIMIT 26",
        "access_tokens_kind_created",
    ),
    (
        "admin list of one kind, first page",
        "SELECT id FROM access_tokens WHERE kind = 'personal' \
         ORDER BY created_at DESC, id DESC LIMIT 26",
        "access_tokens_kind_created",
    ),
    (
        "one owner's tokens",
        "SELECT id FROM access_tokens WHERE kind = 'personal' AND owner = 'alice' \
         ORDER BY created_at DESC, id DESC LIMIT 26",
        "access_tokens_kind_owner_created",
    ),
    (
        "the reminder scan",
        "SELECT id FROM access_tokens WHERE revoked_at IS NULL \
         AND expires_at > '2026-12-01 00:00:00' AND expires_at <= '2026-12-08 00:00:00' \
         ORDER BY expires_at, id LIMIT 500",
        "access_tokens_unrevoked_expiry",
    ),
    (
        "events about a person",
        "SELECT id FROM audit_events WHERE subject = 'alice' \
         ORDER BY occurred_at DESC LIMIT 50",
        "audit_events_subject",
    ),
    (
        "an owner's keyset page",
        "SELECT id FROM access_tokens WHERE kind = 'personal' AND owner = 'alice' \
         AND created_at <= '2026-12-01 00:00:00' AND (created_at < '2026-12-01 00:00:00' OR id < 'x') \
         ORDER BY created_at DESC, id DESC LIMIT 26",
        "access_tokens_kind_owner_created",
    ),
    (
        "the reminder scan, a keyset batch",
        "SELECT id FROM access_tokens WHERE revoked_at IS NULL \
         AND expires_at > '2026-12-01 00:00:00' AND expires_at <= '2026-12-08 00:00:00' \
         AND expires_at >= '2026-12-02 00:00:00' AND (expires_at > '2026-12-02 00:00:00' OR id > 'x') \
         ORDER BY expires_at, id LIMIT 500",
        "access_tokens_unrevoked_expiry",
    ),
    (
        "users, latest sign-in first",
        "SELECT subject FROM users ORDER BY last_login_at DESC, subject ASC LIMIT 200",
        "users_last_login",
    ),
    (
        "the compatible list of one role, after an id",
        "SELECT t.id FROM access_tokens t JOIN token_scopes s ON s.token_id = t.id \
         WHERE s.scope = 'deploy' AND s.token_id > 'x' AND t.revoked_at IS NULL \
         ORDER BY s.token_id LIMIT 100",
        "PRIMARY KEY (scope=? AND token_id>?)|token_scopes_pkey",
    ),
];

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

async fn listings_read_an_index_in_their_order(db: TestDb) {
    let app = TestApp::start(&db).await;
    let plans = app
        .blocking(|s| {
            let mut conn = s.conn().unwrap();
            let mut plans = Vec::new();
            for (what, sql, index) in QUERIES {
                let plan: Vec<String> = match &mut **conn {
                    DbConnection::Sqlite(c) => {
                        diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                            .load::<SqlitePlanLine>(c)
                            .unwrap()
                            .into_iter()
                            .map(|l| l.detail)
                            .collect()
                    }
                    DbConnection::Postgres(c) => c
                        .transaction(|c| {
                            diesel::sql_query("SET LOCAL enable_seqscan = off").execute(c)?;
                            diesel::sql_query("SET LOCAL enable_sort = off").execute(c)?;
                            diesel::sql_query(format!("EXPLAIN {sql}")).load::<PgPlanLine>(c)
                        })
                        .unwrap()
                        .into_iter()
                        .map(|l| l.line)
                        .collect(),
                };
                plans.push((what, index, plan.join("\n")));
            }
            plans
        })
        .await;
    // PostgreSQL's name search has a trigram index (where pg_trgm can be
    // created, as here); whether a plan uses it depends on the data.
    let trigram = app
        .blocking(|s| {
            let mut conn = s.conn().unwrap();
            match &mut **conn {
                DbConnection::Postgres(c) => {
                    #[derive(QueryableByName)]
                    struct Found {
                        #[diesel(sql_type = diesel::sql_types::BigInt)]
                        n: i64,
                    }
                    diesel::sql_query(
                        "SELECT count(*) AS n FROM pg_indexes WHERE schemaname = current_schema() \
                         AND indexname = 'access_tokens_name_trgm'",
                    )
                    .get_result::<Found>(c)
                    .map(|f| f.n == 1)
                    .unwrap()
                }
                DbConnection::Sqlite(_) => true,
            }
        })
        .await;
    assert!(trigram, "the trigram index exists on PostgreSQL");
    let mut wrong = Vec::new();
    for (what, index, plan) in plans {
        let sorts = plan.contains("TEMP B-TREE") || plan.contains("Sort");
        let ranged = plan.contains("SEARCH") || plan.contains("Index Cond");
        let needs_range = !what.starts_with("users");
        let named = index.split('|').any(|name| plan.contains(name));
        if !named || sorts || (needs_range && !ranged) {
            wrong.push(format!(
                "{what}: wants a range of {index} in order, plan:\n{plan}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
