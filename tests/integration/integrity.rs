//! A damaged SQLite file (issue #22): refused at start by `PRAGMA
//! quick_check` unless the check is turned off, and a readiness probe that
//! fails once a request met the damage, even while the probe's own write
//! still succeeds.

use crate::support::{command, issue_pat, write_config, PatgateProcess, TestDb};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::{Duration, Instant};

#[derive(QueryableByName)]
struct Page {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Overwrites the header of the first page of table `table` with garbage
/// (as a failing disk might), after moving the WAL into the file.
fn damage_table(file: &std::path::Path, table: &str) {
    let url = file.display().to_string();
    let mut c = SqliteConnection::establish(&url).unwrap();
    c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let root = diesel::sql_query("SELECT rootpage AS n FROM sqlite_master WHERE name = ?")
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result::<Page>(&mut c)
        .unwrap()
        .n;
    let size = diesel::sql_query("SELECT page_size AS n FROM pragma_page_size()")
        .get_result::<Page>(&mut c)
        .unwrap()
        .n;
    drop(c);
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(((root - 1) * size) as u64)).unwrap();
    f.write_all(&[0xFF; 12]).unwrap();
    f.sync_all().unwrap();
}

/// `patgate serve` on `config`, expected to exit by itself: its stderr.
fn serve_refused(config: &std::path::Path) -> String {
    let mut child = command(config)
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("patgate serve kept running on a damaged file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "refused: {err}");
    err
}

#[actix_web::test]
async fn a_damaged_sqlite_file_is_refused_or_fails_readiness() {
    let db = TestDb::sqlite();
    let file = db.dir.path().join("patgate.db");
    let config = write_config(&db, |_| {});
    let pat = issue_pat(&config, "alice", "ci");
    damage_table(&file, "access_tokens");

    let err = serve_refused(&config);
    assert!(
        err.contains("damaged") && err.contains("database_check_at_start"),
        "says what is wrong and how to go on: {err}"
    );

    let unchecked = write_config(&db, |t| {
        t.insert("database_check_at_start".into(), false.into());
    });
    let server = PatgateProcess::spawn(&unchecked);
    let ready = |server: &PatgateProcess| {
        let url = server.base.join("/readyz").unwrap();
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&server).await, 200, "the probe's own write succeeds");
    let exchanged = crate::processes::exchange(&server.base, &pat).await;
    assert!(
        exchanged.status().is_server_error(),
        "the token's page is unreadable: {}",
        exchanged.status()
    );
    // The probe caches its outcome for a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        ready(&server).await,
        503,
        "not ready once a request met the damage"
    );
}
