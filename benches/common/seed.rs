//! Seeds a patgate database at scale with SQL built from real rows (one
//! `INSERT … SELECT` over a generated series per table), so a million
//! tokens take seconds, not the hours one argon2 hash each would.

use diesel::connection::SimpleConnection;
use patgate::store::{Db, DbConnection};

/// What to seed.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Tokens in all (one in ten a service token, one in twenty revoked).
    pub tokens: u64,
    /// Users owning the personal tokens.
    pub users: u64,
    /// Per-minute exchange-count rows of the audit trail.
    pub audit: u64,
    /// Tokens of the one person who has many (`heavy`).
    pub heavy: u64,
}

/// The id of token `i` (21 characters, as real ids).
pub fn token_id(i: u64) -> String {
    format!("{i:0>21}")
}

/// A real argon2id PHC string (of no token's secret).
const HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$q6zY1u9kzrwVUmhNVp5eBlHbgpfEwl2wP02J0bRcvZI";

/// Seeds `db` (migrated) with `scale`: tokens created one every 30 s up to
/// now (expiries spread over 400 days), users, the `heavy` person's tokens
/// first, a token used every minute of the last 30 days (token 1), and
/// per-minute exchange counts spread over the others.
pub fn seed(db: &Db, scale: Scale) {
    let mut conn = db.conn().expect("a connection");
    let sql = match &mut **conn {
        DbConnection::Sqlite(_) => sqlite(scale),
        DbConnection::Postgres(_) => postgres(scale),
    };
    match &mut **conn {
        DbConnection::Sqlite(c) => c.batch_execute(&sql),
        DbConnection::Postgres(c) => c.batch_execute(&sql),
    }
    .expect("seeding SQL runs");
}

fn sqlite(s: Scale) -> String {
    let Scale {
        tokens,
        users,
        audit,
        heavy,
    } = s;
    format!(
        "BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {users} - 1)
INSERT INTO users (subject, created_at, last_login_at)
SELECT 'user' || i, datetime('now', '-400 days'), datetime('now', '-' || (i % 100000) || ' minutes') FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {tokens} - 1)
INSERT INTO access_tokens (id, kind, owner, name, active_name, scopes, is_admin, secret_hash,
    created_at, expires_at, revoked_at, revoked_by)
SELECT printf('%021d', i),
    CASE WHEN i % 10 = 0 THEN 'service' ELSE 'personal' END,
    CASE WHEN i < {heavy} THEN 'heavy' ELSE 'user' || (i % {users}) END,
    'token-' || i,
    CASE WHEN i % 20 = 0 THEN NULL ELSE 'token-' || i END,
    CASE WHEN i % 1000 = 1 THEN 'read deploy' ELSE 'read' END,
    0, '{HASH}',
    datetime('now', '-' || (({tokens} - i) * 30) || ' seconds'),
    datetime('now', '-' || (({tokens} - i) * 30) || ' seconds', '+' || (i % 400 + 1) || ' days'),
    CASE WHEN i % 20 = 0 THEN datetime('now', '-1 days') ELSE NULL END,
    CASE WHEN i % 20 = 0 THEN 'seed' ELSE NULL END
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 43200 - 1)
INSERT INTO audit_events (id, token_id, event, actor, ip, count, details, occurred_at, bucket)
SELECT 'busy-' || i, printf('%021d', 1), 'exchanged', 'token:x', '192.0.2.1', 3, '{{}}',
    datetime('now', '-' || i || ' minutes'),
    strftime('%Y-%m-%dT%H:%M', datetime('now', '-' || i || ' minutes'))
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {audit} - 1)
INSERT INTO audit_events (id, token_id, event, actor, ip, count, details, occurred_at, bucket)
SELECT 'seed-' || i, printf('%021d', 2 + i % ({tokens} - 2)), 'exchanged', 'token:x', '192.0.2.1', 1, '{{}}',
    datetime('now', '-' || (i % 43200) || ' minutes'),
    strftime('%Y-%m-%dT%H:%M', datetime('now', '-' || (i % 43200) || ' minutes')) || ' s' || (i / ({tokens} - 2))
FROM n;
COMMIT;
ANALYZE;"
    )
}

fn postgres(s: Scale) -> String {
    let Scale {
        tokens,
        users,
        audit,
        heavy,
    } = s;
    let minute = "date_trunc('minute', (now() AT TIME ZONE 'UTC'))";
    format!(
        "BEGIN;
INSERT INTO users (subject, created_at, last_login_at)
SELECT 'user' || i, (now() AT TIME ZONE 'UTC') - interval '400 days', (now() AT TIME ZONE 'UTC') - (i % 100000) * interval '1 minute'
FROM generate_series(0, {users} - 1) i;
INSERT INTO access_tokens (id, kind, owner, name, active_name, scopes, is_admin, secret_hash,
    created_at, expires_at, revoked_at, revoked_by)
SELECT lpad(i::text, 21, '0'),
    CASE WHEN i % 10 = 0 THEN 'service' ELSE 'personal' END,
    CASE WHEN i < {heavy} THEN 'heavy' ELSE 'user' || (i % {users}) END,
    'token-' || i,
    CASE WHEN i % 20 = 0 THEN NULL ELSE 'token-' || i END,
    CASE WHEN i % 1000 = 1 THEN 'read deploy' ELSE 'read' END,
    false, '{HASH}',
    (now() AT TIME ZONE 'UTC') - ({tokens} - i) * interval '30 seconds',
    (now() AT TIME ZONE 'UTC') - ({tokens} - i) * interval '30 seconds' + (i % 400 + 1) * interval '1 day',
    CASE WHEN i % 20 = 0 THEN (now() AT TIME ZONE 'UTC') - interval '1 day' END,
    CASE WHEN i % 20 = 0 THEN 'seed' END
FROM generate_series(0, {tokens} - 1) i;
INSERT INTO audit_events (id, token_id, event, actor, ip, count, details, occurred_at, bucket)
SELECT 'busy-' || i, lpad('1', 21, '0'), 'exchanged', 'token:x', '192.0.2.1', 3, '{{}}',
    {minute} - i * interval '1 minute',
    to_char({minute} - i * interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI')
FROM generate_series(0, 43199) i;
INSERT INTO audit_events (id, token_id, event, actor, ip, count, details, occurred_at, bucket)
SELECT 'seed-' || i, lpad((2 + i % ({tokens} - 2))::text, 21, '0'), 'exchanged', 'token:x', '192.0.2.1', 1, '{{}}',
    {minute} - (i % 43200) * interval '1 minute',
    to_char({minute} - (i % 43200) * interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI') || ' s' || (i / ({tokens} - 2))
FROM generate_series(0, {audit} - 1) i;
COMMIT;
ANALYZE;"
    )
}
