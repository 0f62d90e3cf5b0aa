//! Opaque keyset-pagination cursors: the (time, id) of the last row of a
//! page, base64url-encoded, so the next page starts strictly after it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime};

/// The cursor after a row stamped `at` with id `id`.
pub fn encode(at: NaiveDateTime, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.and_utc().timestamp_micros()))
}

/// The (time, id) a cursor names; `None` for anything this server did not give out.
pub fn decode(cursor: &str) -> Option<(NaiveDateTime, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.split_once(':')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc(),
        id.to_string(),
    ))
}

/// The message for a cursor that [`decode`] refuses.
pub const BAD_CURSOR: &str = "the cursor is not one this server gave out";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456)
            .unwrap()
            .naive_utc();
        assert_eq!(decode(&encode(at, "abc")), Some((at, "abc".to_string())));
        assert!(decode("!!!").is_none());
        assert!(decode(&URL_SAFE_NO_PAD.encode("nope")).is_none());
    }
}
