//! Syntax rules of the protocols, checked wherever a value comes in.

use url::Url;

/// Whether `s` is a scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Whether `uri` may be registered as a redirect URI: absolute, no fragment
/// (RFC 6749 §3.1.2).
pub fn is_registrable_redirect(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| u.fragment().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(is_scope_token("read:packages"));
        assert!(is_scope_token("a!#[]~"));
        for bad in ["", "a b", "quote\"", "back\\slash", "é"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn redirect_uris_are_absolute_without_fragment() {
        assert!(is_registrable_redirect("https://app.example/cb"));
        assert!(!is_registrable_redirect("/relative"));
        assert!(!is_registrable_redirect("https://app.example/cb#x"));
    }
}
