//! A process with few descriptors (issue #22): patgate raises its soft
//! limit, refuses connections over its budget with a quick 503 (and closes
//! them), never runs out of descriptors under a flood of connections, and
//! serves again once they are gone.

use crate::support::{write_config, PatgateProcess, TestDb};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `GET path` on a new connection; the status line and headers, and
/// how long the answer took.
fn get(addr: &str, path: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    (
        String::from_utf8_lossy(&buf[..n]).to_lowercase(),
        started.elapsed(),
    )
}

#[actix_web::test]
async fn a_flood_of_connections_gets_503_not_a_stall() {
    let db = TestDb::sqlite();
    let config = write_config(&db, |t| {
        let mut limits = toml::Table::new();
        limits.insert("max_connections".into(), 20.into());
        t.insert("limits".into(), limits.into());
    });
    let mut server = PatgateProcess::spawn_with_open_files(&config, 256);
    let addr = format!("127.0.0.1:{}", server.base.port().unwrap());
    let (ok, _) = get(&addr, "/healthz");
    assert!(ok.starts_with("http/1.1 200"), "{ok}");

    // Idle connections up to the admitted number and past it.
    let idle: Vec<TcpStream> = (0..24)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (refused, took) = get(&addr, "/healthz");
    assert!(refused.starts_with("http/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after:"), "{refused}");
    assert!(refused.contains("connection: close"), "{refused}");
    assert!(
        took < Duration::from_secs(2),
        "answered at once, not queued: {took:?}"
    );

    // More connections than the process has descriptors.
    let flood: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let open = server.open_files();
    assert!(open < 256, "{open} descriptors open of 256");
    drop(flood);
    drop(idle);

    // Served again once they are gone (closed ones leave the backlog as
    // the server reads them).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (answer, _) = get(&addr, "/healthz");
        if answer.starts_with("http/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "not served again: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let logs = server.stop_and_logs();
    assert!(
        !logs.to_lowercase().contains("too many open files"),
        "{logs}"
    );
}
