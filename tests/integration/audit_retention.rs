//! The audit trail stays small (issue #21): per-minute counts older than
//! `rollup_after` become one row per token, event, reason and day, with the
//! 30-day usage chart unchanged; counts and other events are deleted after
//! their retention; two instances rolling up at once add no count twice.

use crate::both_backends;
use crate::support::{run, succeeded, token_id, write_config, TestApp, TestDb};
use patgate::audit::retention::{maintain, Maintained};
use patgate::store::audit::{insert, AuditRow};
use patgate::tokens::RequestedLifetime;

both_backends!(
    counts_roll_up_by_day_and_old_rows_go,
    the_maintain_command_runs_to_the_end,
);

fn minute_row(token: &str, at: chrono::DateTime<chrono::Utc>, reason: Option<&str>) -> AuditRow {
    let stamp = at.format("%Y-%m-%dT%H:%M").to_string();
    AuditRow {
        id: uuid::Uuid::now_v7().to_string(),
        token_id: Some(token.into()),
        subject: None,
        event: if reason.is_some() {
            "exchange_denied"
        } else {
            "exchanged"
        }
        .into(),
        actor: Some(format!("token:{token}")),
        ip: Some("192.0.2.1".into()),
        user_agent: None,
        count: 2,
        details: reason.map_or("{}".into(), |r| format!("{{\"reason\":\"{r}\"}}")),
        occurred_at: at.naive_utc(),
        bucket: Some(match reason {
            Some(r) => format!("{stamp} {r}"),
            None => stamp,
        }),
    }
}

async fn rows_of(app: &TestApp, id: &str) -> Vec<AuditRow> {
    let id = id.to_string();
    app.blocking(move |s| {
        use diesel::prelude::*;
        use patgate::store::schema::audit_events::dsl as e;
        e::audit_events
            .filter(e::token_id.eq(id))
            .select(AuditRow::as_select())
            .load(&mut **s.conn().unwrap())
            .unwrap()
    })
    .await
}

/// Writes `rows` to the audit trail in one transaction.
async fn insert_all(app: &TestApp, rows: Vec<AuditRow>) {
    app.blocking(move |s| {
        s.write(|tx| {
            for row in &rows {
                insert(tx.conn, row)?;
            }
            Ok::<_, patgate::store::StoreError>(())
        })
    })
    .await
    .unwrap();
}

async fn usage(app: &TestApp, id: &str) -> patgate::audit::usage::Usage {
    let id = id.to_string();
    app.blocking(move |s| {
        let ids = [id.clone()];
        let mut all = patgate::audit::usage::of_tokens(&mut s.conn().unwrap(), &ids, s.now());
        all.as_mut().unwrap().remove(&id).unwrap()
    })
    .await
}

async fn counts_roll_up_by_day_and_old_rows_go(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let id = token_id(&pat);
    let now = app.svc.now();
    // Every minute of the last five days, and a refusal every hour.
    let rows: Vec<AuditRow> = (1..=5 * 1440)
        .map(|m| {
            let at = now - chrono::Duration::minutes(m);
            let reason = (m % 60 == 0).then_some("wrong_secret");
            minute_row(&id, at, reason)
        })
        .collect();
    let seeded = rows.len();
    // A count from 500 days ago, a revocation from 8 years ago and one from a year ago.
    let old_count = minute_row(&id, now - chrono::Duration::days(500), None);
    let mut ancient = minute_row(&id, now - chrono::Duration::days(8 * 365), None);
    ancient.bucket = None;
    ancient.event = "revoked".into();
    let mut last_year = ancient.clone();
    last_year.id = uuid::Uuid::now_v7().to_string();
    last_year.occurred_at = (now - chrono::Duration::days(365)).naive_utc();
    let (ancient_id, last_year_id, old_count_id) = (
        ancient.id.clone(),
        last_year.id.clone(),
        old_count.id.clone(),
    );
    let mut all = rows;
    all.extend([old_count, ancient, last_year]);
    insert_all(&app, all).await;
    let counted = |rows: &[AuditRow]| {
        rows.iter()
            .filter(|r| r.bucket.is_some())
            .map(|r| i64::from(r.count))
            .sum::<i64>()
    };
    let before = counted(&rows_of(&app, &id).await);
    assert_eq!(before, 2 * seeded as i64 + 2);
    let chart_before = usage(&app, &id).await;

    // Two instances at once.
    let (a, b) = tokio::join!(
        app.blocking(|s| maintain(s, 100)),
        app.blocking(|s| maintain(s, 100))
    );
    // (The instance's own job may have done part of it since start: what
    // is asserted is what remains.)
    a.unwrap();
    b.unwrap();
    let after_rows = rows_of(&app, &id).await;
    let chart_after = usage(&app, &id).await;
    assert_eq!(chart_after, chart_before, "the 30-day chart is unchanged");
    let ids: Vec<&str> = after_rows.iter().map(|r| r.id.as_str()).collect();
    assert!(
        !ids.contains(&ancient_id.as_str()),
        "the 8-year-old revocation is gone"
    );
    assert!(
        ids.contains(&last_year_id.as_str()),
        "last year's revocation stays"
    );
    assert!(
        !ids.contains(&old_count_id.as_str()),
        "the 500-day-old count is gone"
    );
    assert_eq!(
        counted(&after_rows),
        2 * seeded as i64,
        "every count of the last 400 days kept, exactly once"
    );
    let day_rows: Vec<&AuditRow> = after_rows
        .iter()
        .filter(|r| r.bucket.as_deref().is_some_and(|b| b.starts_with("day ")))
        .collect();
    let minutes_left = after_rows
        .iter()
        .filter(|r| r.bucket.as_deref().is_some_and(|b| !b.starts_with("day ")))
        .count();
    assert!(
        minutes_left <= 2 * 1440 + 1,
        "the last two days keep their minutes"
    );
    assert!(
        (3..=8).contains(&day_rows.len()),
        "a row per day and reason for the older days: {}",
        day_rows.len()
    );
    assert!(
        after_rows.len() < seeded / 2,
        "{} rows left of {seeded}",
        after_rows.len()
    );
    // Three days of a token used every minute: this many bytes of rows.
    let bytes: usize = day_rows
        .iter()
        .map(|r| r.id.len() + r.details.len() + r.bucket.as_ref().unwrap().len() + 64)
        .sum();
    assert!(
        bytes * 10 < 50_000,
        "a month of days stays far under 50 KB ({bytes} B for 3 days)"
    );
    // A second pass finds nothing more to do.
    let again = app.blocking(|s| maintain(s, 100)).await.unwrap();
    assert_eq!(again, Maintained::default());
}

/// `patgate admin audit maintain` does what the job does in steps, to the
/// end: afterwards only the last two days keep their minutes, and a second
/// run finds nothing to do.
async fn the_maintain_command_runs_to_the_end(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let id = token_id(&pat);
    let now = app.svc.now();
    let rows: Vec<AuditRow> = (1..=6 * 1440)
        .map(|m| minute_row(&id, now - chrono::Duration::minutes(m), None))
        .collect();
    insert_all(&app, rows).await;
    let config = write_config(&db, |_| {});
    let first = succeeded(run(&config, &["admin", "audit", "maintain"]));
    assert!(first.contains("per-minute rows rolled up"), "{first}");
    let left = rows_of(&app, &id).await;
    let minutes = left
        .iter()
        .filter(|r| r.bucket.as_deref().is_some_and(|b| !b.starts_with("day ")))
        .count();
    assert!(minutes <= 2 * 1440 + 1, "{minutes} minute rows left");
    assert!(left.len() < 2 * 1440 + 10, "{} rows left", left.len());
    let second = succeeded(run(&config, &["admin", "audit", "maintain"]));
    assert_eq!(
        second.trim(),
        "0 per-minute rows rolled up, 0 count rows and 0 events deleted"
    );
}
