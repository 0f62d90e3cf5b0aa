//! The token format: `<prefix>_<id>.<secret>`.
//!
//! - `prefix`: `pat` (personal) or `sat` (service);
//! - `id`: 21 characters `[A-Za-z0-9]`, the public token id;
//! - `secret`: 44 random characters `[A-Za-z0-9]` (44 × log2 62 ≈ 262 bits)
//!   followed by 6 characters of checksum: the CRC-32 (IEEE) of everything
//!   before it (`pat_<id>.<44 chars>`), in base62, zero-padded.
//!
//! A secret scanner matches `(pat|sat)_[A-Za-z0-9]{21}\.[A-Za-z0-9]{50}` and
//! checks the checksum offline, with no call to patgate.

use crate::clock::{random_alphanumeric, RandomSource};
use crate::secret::SecretString;
pub use crate::store::TokenKind;

/// Length of the public token id.
pub const ID_LEN: usize = 21;
/// Random characters in the secret.
pub const SECRET_RANDOM_LEN: usize = 44;
/// Checksum characters at the end of the secret.
pub const CHECKSUM_LEN: usize = 6;
/// Total length of a token string: prefix (3) + `_` + id + `.` + secret.
pub const TOKEN_LEN: usize = 3 + 1 + ID_LEN + 1 + SECRET_RANDOM_LEN + CHECKSUM_LEN;

/// A token as presented by a client, split into its parts. The secret part
/// stays wrapped.
#[derive(Debug, Clone)]
pub struct PresentedToken {
    /// Personal or service.
    pub kind: TokenKind,
    /// Public id.
    pub id: String,
    /// The secret part (random characters and checksum).
    pub secret: SecretString,
    /// The secret part is base64 of the secret bytes (a token registered from
    /// `@access-tokens/core`, `pat_<id>.<base64>`), not patgate's characters.
    pub base64_secret: bool,
}

/// Longest token accepted in the `@access-tokens` format.
const MAX_FOREIGN_LEN: usize = 512;

/// Why a string is not a well-formed token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed token")]
pub struct MalformedToken;

impl PresentedToken {
    /// The bytes the stored hash was made from.
    pub fn secret_material(&self) -> Vec<u8> {
        use base64::Engine;
        let text = self.secret.expose();
        if !self.base64_secret {
            return text.as_bytes().to_vec();
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines
            .iter()
            .find_map(|e| e.decode(text).ok())
            .unwrap_or_default()
    }

    /// Parses and checks the checksum; no database is needed to refuse a
    /// mistyped or truncated token. Also accepts the `@access-tokens` format
    /// `pat_<21 alphanumerics>.<base64>` (no checksum) for registered tokens,
    /// unless its secret part has patgate's shape (then the checksum decides).
    pub fn parse(raw: &str) -> Result<Self, MalformedToken> {
        if raw.len() != TOKEN_LEN || !raw.is_ascii() {
            return Self::parse_foreign(raw);
        }
        let kind = match &raw[..4] {
            "pat_" => TokenKind::Personal,
            "sat_" => TokenKind::Service,
            _ => return Err(MalformedToken),
        };
        let id = &raw[4..4 + ID_LEN];
        let dot = 4 + ID_LEN;
        let secret = &raw[dot + 1..];
        let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
        if raw.as_bytes()[dot] != b'.' || !alnum(id) || !alnum(secret) {
            return Err(MalformedToken);
        }
        let (body, sum) = raw.split_at(TOKEN_LEN - CHECKSUM_LEN);
        if checksum(body) != sum {
            return Err(MalformedToken);
        }
        Ok(PresentedToken {
            kind,
            id: id.to_string(),
            secret: SecretString::new(secret),
            base64_secret: false,
        })
    }

    fn parse_foreign(raw: &str) -> Result<Self, MalformedToken> {
        let rest = raw.strip_prefix("pat_").ok_or(MalformedToken)?;
        let (id, secret) = rest.split_once('.').ok_or(MalformedToken)?;
        let base64 = |b: u8| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b);
        let well_formed = raw.len() <= MAX_FOREIGN_LEN
            && id.len() == ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric())
            && !secret.is_empty()
            && secret.bytes().all(base64);
        let token = PresentedToken {
            kind: TokenKind::Personal,
            id: id.to_string(),
            secret: SecretString::new(secret),
            base64_secret: true,
        };
        if !well_formed || token.secret_material().is_empty() {
            return Err(MalformedToken);
        }
        Ok(token)
    }
}

/// A newly generated token: the full string (shown once) and its parts.
#[derive(Debug)]
pub struct GeneratedToken {
    /// The whole token, to hand to its owner once.
    pub raw: SecretString,
    /// Public id.
    pub id: String,
    /// The secret part, to hash.
    pub secret: SecretString,
}

/// Generates a token of `kind`; with `id` given, a new secret for that id.
pub fn generate(kind: TokenKind, id: Option<&str>, random: &dyn RandomSource) -> GeneratedToken {
    let id = id.map_or_else(|| random_alphanumeric(random, ID_LEN), str::to_string);
    let random_part = random_alphanumeric(random, SECRET_RANDOM_LEN);
    let body = format!("{}_{id}.{random_part}", kind.prefix());
    let raw = with_checksum(&body);
    let secret = SecretString::new(&raw[raw.len() - SECRET_RANDOM_LEN - CHECKSUM_LEN..]);
    GeneratedToken {
        raw: SecretString::new(raw),
        id,
        secret,
    }
}

/// Appends the checksum to `pat_<id>.<random>`.
pub fn with_checksum(body: &str) -> String {
    format!("{body}{}", checksum(body))
}

/// CRC-32 of `body` as 6 base62 characters.
fn checksum(body: &str) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn generated_tokens_parse_back() {
        for kind in [TokenKind::Personal, TokenKind::Service] {
            let t = generate(kind, None, &OsRandom);
            assert_eq!(t.raw.expose().len(), TOKEN_LEN);
            let p = PresentedToken::parse(t.raw.expose()).unwrap();
            assert_eq!((p.kind, p.id.as_str()), (kind, t.id.as_str()));
            assert_eq!(p.secret, t.secret);
        }
    }

    #[test]
    fn any_changed_character_or_length_is_refused() {
        let raw = generate(TokenKind::Personal, None, &OsRandom)
            .raw
            .expose()
            .to_string();
        for i in 0..raw.len() {
            let mut bytes = raw.clone().into_bytes();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(PresentedToken::parse(&changed).is_err(), "position {i}");
        }
        assert!(PresentedToken::parse(&raw[..raw.len() - 1]).is_err());
        assert!(PresentedToken::parse(&format!("{raw}a")).is_err());
        assert!(PresentedToken::parse("").is_err());
        assert!(PresentedToken::parse(&"é".repeat(TOKEN_LEN / 2)).is_err());
    }

    #[test]
    fn regenerating_keeps_the_id() {
        let a = generate(TokenKind::Service, None, &OsRandom);
        let b = generate(TokenKind::Service, Some(&a.id), &OsRandom);
        assert_eq!(a.id, b.id);
        assert_ne!(a.secret, b.secret);
    }
}
