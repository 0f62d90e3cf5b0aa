//! A scripted HTTP server on loopback: answers requests with the given
//! responses in order (the last one repeats) and counts the requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One scripted answer: status, extra headers, JSON body.
pub type Scripted = (u16, Vec<(&'static str, &'static str)>, &'static str);

/// A running stub.
pub struct Stub {
    /// `http://127.0.0.1:port`.
    pub base: url::Url,
    hits: Arc<AtomicUsize>,
}

impl Stub {
    /// Starts a stub answering with `script`.
    pub fn start(script: Vec<Scripted>) -> Stub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let (status, headers, body) = &script[n.min(script.len() - 1)];
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut sink = vec![0u8; length];
                let _ = reader.read_exact(&mut sink);
                let mut stream = reader.into_inner();
                let extra: String = headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}\r\n"))
                    .collect();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                    body.len()
                );
            }
        });
        Stub { base, hits }
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
