//! Both migration folders hold the same migrations.

use std::collections::BTreeSet;
use std::path::Path;

fn names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    e.path().join(file).is_file(),
                    "{backend}/{:?} lacks {file}",
                    e.file_name()
                );
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_folders_hold_the_same_migration_names() {
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

crate::both_backends!(an_older_binary_refuses_a_newer_schema);

/// An instance one release older on a database a newer release migrated
/// (issue #20, finding 6): it stops taking traffic (`/readyz` 503) and
/// refuses to start, naming both versions, instead of serving without the
/// newer release's restrictions.
async fn an_older_binary_refuses_a_newer_schema(db: crate::support::TestDb) {
    use diesel::prelude::*;
    let app = crate::support::TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "ci",
            &["read"],
            patgate::tokens::RequestedLifetime::Default,
        )
        .await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    app.blocking(|s| {
        diesel::sql_query(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000099')",
        )
        .execute(&mut **s.conn().unwrap())
        .unwrap()
    })
    .await;
    // The readiness answer is cached for a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "a load balancer takes it out");
    let config = app.svc.config.clone();
    let refused = actix_web::rt::task::spawn_blocking(move || {
        patgate::app::Services::open(config).map(|_| ())
    })
    .await
    .unwrap()
    .unwrap_err()
    .to_string();
    let newest = names("sqlite").into_iter().max().unwrap();
    let newest: String = newest
        .split('_')
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        refused.contains("20991231000099") && refused.contains(&newest),
        "names both versions ({newest}): {refused}"
    );
    // Nothing was changed by the refusal: the token is as it was.
    assert!(app
        .record(&crate::support::token_id(&pat))
        .await
        .revoked_at
        .is_none());
}
