//! Property tests (proptest, on stable) of what parses a caller's bytes:
//! the token parser, the OAuth form/JSON/query parser, durations, CIDR
//! ranges, cursors, scope tokens and client addresses. Each never panics on
//! any input, and accepts exactly what it should. The HTTP-level fuzzing of
//! every route is the `fuzz_http` bench command (a short run is in CI).

use patgate::clock::OsRandom;
use patgate::config::parse_duration;
use patgate::oauth::token_request::{TokenParams, MAX_BODY_BYTES, MAX_PARAMS};
use patgate::tokens::format::{generate, with_checksum, PresentedToken, TokenKind, TOKEN_LEN};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_token_parser_takes_any_string(raw in ".{0,200}") {
        let _ = PresentedToken::parse(&raw);
    }

    #[test]
    fn generated_tokens_parse_and_any_one_change_breaks_them(
        at in 0usize..TOKEN_LEN,
        replacement in proptest::char::range('0', 'z'),
        service in any::<bool>(),
    ) {
        let kind = if service { TokenKind::Service } else { TokenKind::Personal };
        let token = generate(kind, None, &OsRandom);
        let raw = token.raw.expose().to_string();
        let parsed = PresentedToken::parse(&raw).unwrap();
        prop_assert_eq!(&parsed.id, &token.id);
        let mut changed: Vec<char> = raw.chars().collect();
        prop_assume!(changed[at] != replacement);
        changed[at] = replacement;
        let changed: String = changed.into_iter().collect();
        // A native token with one character changed never parses as the
        // same token (the checksum or the shape catches it).
        if let Ok(p) = PresentedToken::parse(&changed) {
            prop_assert!(p.base64_secret || p.id != token.id || p.kind != kind);
        }
    }

    #[test]
    fn checksummed_bodies_round_trip(body in "[A-Za-z0-9]{44}") {
        let raw = with_checksum(&format!("pat_{}.{body}", "a".repeat(21)));
        prop_assert_eq!(raw.len(), TOKEN_LEN);
        prop_assert!(PresentedToken::parse(&raw).is_ok());
    }

    #[test]
    fn the_form_and_json_parsers_take_any_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        json in any::<bool>(),
    ) {
        let content_type = if json { "application/json" } else { "application/x-www-form-urlencoded" };
        let _ = TokenParams::parse(Some(content_type), &body);
        let _ = TokenParams::parse(Some(&String::from_utf8_lossy(&body)), b"a=b");
        let _ = TokenParams::from_query(&String::from_utf8_lossy(&body));
    }

    #[test]
    fn form_parameters_are_bounded_in_number(n in 0usize..200) {
        let body: String = (0..n).map(|i| format!("p{i}=v&")).collect();
        let parsed = TokenParams::parse(None, body.as_bytes());
        prop_assert_eq!(parsed.is_ok(), n <= MAX_PARAMS);
    }

    #[test]
    fn durations_parse_or_refuse_but_never_panic(text in "[0-9]{0,25}[smhdwx]?") {
        if let Ok(ttl) = parse_duration(&text) {
            prop_assert!(ttl.seconds() > 0 && ttl.seconds() <= 100 * 365 * 86_400);
        }
    }

    #[test]
    fn cidr_ranges_parse_or_refuse(text in "[0-9a-f:./]{0,45}") {
        if let Some(net) = patgate::net::parse_cidr(&text) {
            prop_assert!(patgate::net::allowed(Some(net.network()), std::slice::from_ref(&text)));
        }
    }

    #[test]
    fn cursors_decode_or_refuse(text in ".{0,300}") {
        let _ = patgate::cursor::decode(&text);
    }

    #[test]
    fn client_addresses_come_from_trusted_hops_only(
        hops in proptest::collection::vec("[0-9.:a-z ,]{0,40}", 0..6),
    ) {
        let peer: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let hops: Vec<&str> = hops.iter().map(String::as_str).collect();
        // With no trusted proxy, the peer is the client whatever it claims.
        prop_assert_eq!(patgate::net::client_address(peer, &hops, &[]), peer);
    }
}

#[test]
fn a_query_longer_than_the_bound_is_refused() {
    let long = "a=".to_string() + &"b".repeat(MAX_BODY_BYTES);
    assert!(TokenParams::from_query(&long).is_err());
}
