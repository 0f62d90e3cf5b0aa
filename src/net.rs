//! The client's address: the TCP peer, or — only when the peer is a trusted
//! proxy — the nearest `X-Forwarded-For` hop that is not itself trusted.

use ipnet::IpNet;
use std::net::IpAddr;

/// Resolves the client address from the peer and the `X-Forwarded-For`
/// header values (in order). A header from an untrusted peer is ignored, so
/// it cannot be spoofed; an unparseable hop stops the walk at the last proxy.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Parses a CIDR allowlist entry; a bare address means just that address.
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

/// Whether `ip` falls in one of `cidrs` (an empty list allows any address).
pub fn allowed(ip: Option<IpAddr>, cidrs: &[String]) -> bool {
    cidrs.is_empty()
        || ip.is_some_and(|ip| {
            cidrs
                .iter()
                .filter_map(|c| parse_cidr(c))
                .any(|n| n.contains(&ip))
        })
}

/// The block a limit counts `ip` (text) in: an IPv4 address whole, an IPv6
/// address by its /64 (`2001:db8:1:2::/64`), the smallest block one
/// subscriber usually holds; text that is no address, as it is.
pub fn address_block(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9"),
            "untrusted peer"
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &["1.2.3.4"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &["6.6.6.6, 1.2.3.4, 10.0.0.7"], &trusted),
            ip("1.2.3.4"),
            "nearest untrusted hop"
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &["6.6.6.6", "1.2.3.4"], &trusted),
            ip("1.2.3.4"),
            "several headers"
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &["garbage"], &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &[], &trusted),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn cidr_lists() {
        assert_eq!(
            parse_cidr("192.168.1.7/24").unwrap().to_string(),
            "192.168.1.0/24"
        );
        assert_eq!(
            parse_cidr("2001:db8::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
        assert!(parse_cidr("10.0.0.0/33").is_none() && parse_cidr("nope").is_none());
        let list = vec!["10.1.0.0/16".to_string()];
        assert!(allowed(Some(ip("10.1.2.3")), &list));
        assert!(!allowed(Some(ip("10.2.0.1")), &list));
        assert!(!allowed(None, &list));
        assert!(allowed(None, &[]));
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        assert_eq!(address_block("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(address_block("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64");
        assert_ne!(address_block("2001:db8:1:3::1"), "2001:db8:1:2::/64");
        assert_eq!(address_block("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_block(""), "");
    }
}
