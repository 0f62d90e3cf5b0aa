//! A minimal SMTP server on loopback (RFC 5321 without extensions): records
//! each message's envelope and data; answers `554` to the next `reject`
//! messages' DATA.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One received message.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message, headers and body, as sent (dot-stuffing undone).
    pub data: String,
}

/// The server: its `smtp://` URL, what it received, how many to refuse.
#[derive(Clone)]
pub struct SmtpSink {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    /// Messages accepted.
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Messages still to refuse.
    pub reject: Arc<Mutex<u32>>,
}

impl SmtpSink {
    /// Starts the server on a thread.
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sink = SmtpSink {
            url: format!("smtp://{}", listener.local_addr().unwrap()),
            received: Arc::default(),
            reject: Arc::default(),
        };
        let me = sink.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let _ = me.converse(stream);
            }
        });
        sink
    }

    fn converse(&self, stream: std::net::TcpStream) -> std::io::Result<()> {
        let mut out = stream.try_clone()?;
        let mut lines = BufReader::new(stream);
        write!(out, "220 sink.test ESMTP\r\n")?;
        let mut message = Received::default();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let upper = line.to_ascii_uppercase();
            let address = || {
                line.split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_string())
                    .unwrap_or_default()
            };
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                write!(out, "250 sink.test\r\n")?;
            } else if upper.starts_with("MAIL FROM") {
                message = Received {
                    from: address(),
                    ..Received::default()
                };
                write!(out, "250 OK\r\n")?;
            } else if upper.starts_with("RCPT TO") {
                message.to.push(address());
                write!(out, "250 OK\r\n")?;
            } else if upper.starts_with("DATA") {
                write!(out, "354 go on\r\n")?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l)? == 0 || l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                message.data = data;
                let mut reject = self.reject.lock().unwrap();
                if *reject > 0 {
                    *reject -= 1;
                    write!(out, "554 refused for the test\r\n")?;
                } else {
                    self.received.lock().unwrap().push(message.clone());
                    write!(out, "250 queued\r\n")?;
                }
            } else if upper.starts_with("QUIT") {
                write!(out, "221 bye\r\n")?;
                return Ok(());
            } else {
                write!(out, "250 OK\r\n")?;
            }
        }
    }

    /// What was accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// An app whose `[reminders]` send email through `sink`, and a user
/// `dana` with the address `dana@example.test`.
pub async fn mailing_app(db: &crate::support::TestDb, sink: &SmtpSink) -> crate::support::TestApp {
    let url = sink.url.clone();
    let app = crate::support::TestApp::start_with(db, |t| {
        let reminders: toml::Table = toml::from_str(&format!(
            "check_every = \"1d\"\n[email]\nsmtp_url = \"{url}\"\nfrom = \"patgate <patgate@example.test>\""
        ))
        .unwrap();
        t.insert("reminders".into(), reminders.into());
    })
    .await;
    app.add_user("dana", "correct horse battery", false).await;
    let set = app.blocking(|s| {
        let who = patgate::policy::Principal::operator("ops");
        patgate::accounts::set_email(s, &who, "dana", Some("dana@example.test"))
    });
    assert!(set.await.unwrap());
    app
}
