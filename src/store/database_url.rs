//! What `database_url` names: the backend, and the string its driver gets
//! (libpq's URI and keyword forms passed on unchanged, with the timeouts
//! patgate needs added as text).

use super::StoreError;
use std::time::Duration;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, bundled.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// Reads the backend from a URL: a PostgreSQL URI (`postgres://` or
    /// `postgresql://`, multi-host `h1:p1,h2:p2` included) or a libpq
    /// keyword string (`host=… dbname=…`), both passed to libpq as given;
    /// `sqlite://path`, `sqlite:path` or a bare file path for SQLite.
    /// Anything else (another scheme, a keyword string that names no
    /// PostgreSQL setting) is refused, never taken for a file name.
    /// Returns the backend and the string its driver expects.
    pub fn from_url(url: &str) -> Result<(Backend, String), StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_string()));
        }
        if let Some(first) = keyword_of(url) {
            return match LIBPQ_KEYWORDS.contains(&first.as_str()) {
                true => Ok((Backend::Postgres, url.to_string())),
                false => Err(StoreError::Url(format!(
                    "{first:?} is not a libpq connection keyword; expected postgres://…, \
                     host=… dbname=…, sqlite://path or a file path"
                ))),
            };
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Url(
                "expected postgres://…, host=… dbname=…, sqlite://path or a file path".into(),
            ));
        }
        Ok((Backend::Sqlite, path.to_string()))
    }
}

/// The keywords of libpq connection strings (PostgreSQL 15, §34.1.2) that
/// name where and how to connect; one of them starts a keyword string.
const LIBPQ_KEYWORDS: [&str; 12] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "sslmode",
    "application_name",
    "options",
    "target_session_attrs",
];

/// The keyword of `s` when it reads `keyword = value …` (a word of letters
/// and `_` before an `=`), as libpq keyword strings do.
fn keyword_of(s: &str) -> Option<String> {
    let (key, _) = s.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .then(|| key.to_ascii_lowercase())
}

/// libpq settings that bound a stalled server: connect timeout, TCP
/// keepalives and the TCP user timeout, unless the URL sets them. Added
/// as text, to a URI's query or a keyword string's end, so what libpq
/// reads otherwise is the operator's string unchanged (a multi-host URI
/// is no URL that `url::Url` parses).
pub(super) fn postgres_target(url: &str, timeout: Duration) -> String {
    let keywords = !url.contains("://");
    let given: Vec<String> = if keywords {
        url.split_whitespace()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k.trim().to_string()))
            .collect()
    } else {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect()
    };
    let secs = timeout.as_secs().max(1);
    let wanted = [
        ("connect_timeout", secs.to_string()),
        ("keepalives", "1".into()),
        ("keepalives_idle", secs.to_string()),
        ("keepalives_interval", secs.div_ceil(3).to_string()),
        ("keepalives_count", "3".into()),
        ("tcp_user_timeout", (secs * 1000).to_string()),
    ];
    let mut target = url.to_string();
    for (key, value) in wanted.iter().filter(|(k, _)| !given.iter().any(|g| g == k)) {
        let separator = match (keywords, target.contains('?')) {
            (true, _) => ' ',
            (false, true) => '&',
            (false, false) => '?',
        };
        target.push(separator);
        target.push_str(key);
        target.push('=');
        target.push_str(value);
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_settings_are_added_as_text() {
        let t = Duration::from_secs(5);
        assert_eq!(
            postgres_target("postgres://u@h1:1,h2:2/db?connect_timeout=9", t),
            "postgres://u@h1:1,h2:2/db?connect_timeout=9&keepalives=1&keepalives_idle=5\
             &keepalives_interval=2&keepalives_count=3&tcp_user_timeout=5000"
        );
        assert_eq!(
            postgres_target("host=a dbname=d keepalives=0", t),
            "host=a dbname=d keepalives=0 connect_timeout=5 keepalives_idle=5 \
             keepalives_interval=2 keepalives_count=3 tcp_user_timeout=5000"
        );
        assert!(
            postgres_target("postgres://h/db", t).starts_with("postgres://h/db?connect_timeout=5&")
        );
    }

    #[test]
    fn backend_follows_the_url_scheme() {
        let pg = "postgres://u@h:5432/db";
        assert_eq!(
            Backend::from_url(pg).unwrap(),
            (Backend::Postgres, pg.to_string())
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite://data/p.db").unwrap(),
            (Backend::Sqlite, "data/p.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:///abs/p.db").unwrap().1,
            "/abs/p.db"
        );
        assert_eq!(
            Backend::from_url("./p.db").unwrap(),
            (Backend::Sqlite, "./p.db".into())
        );
        let multi = "postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write";
        assert_eq!(
            Backend::from_url(multi).unwrap(),
            (Backend::Postgres, multi.to_string())
        );
        let keywords = "host=h1,h2 port=5432,5433 dbname=db";
        assert_eq!(
            Backend::from_url(keywords).unwrap(),
            (Backend::Postgres, keywords.to_string())
        );
        assert!(
            Backend::from_url("hots=h1 dbname=db").is_err(),
            "a misspelt keyword string is not a file name"
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }
}
