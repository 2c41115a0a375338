//! Network addresses: the blocks of trusted reverse proxies (`trusted_proxies`), and the client
//! address they report in `X-Forwarded-For`.
//!
//! Hand-written rather than a crate: a prefix comparison of two integers is all it takes.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// A malformed address block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: expected an IP address or a CIDR block (e.g. 10.0.0.0/8, fd00::/8)")]
pub struct CidrError(pub String);

/// An IPv4 or IPv6 address block (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a block of
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `address` is in the block. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a
    /// dual-stack socket reports) is compared as the IPv4 address it carries.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => same_prefix(
                u32::from(network).into(),
                u32::from(address).into(),
                32,
                self.prefix,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(network.into(), address.into(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `width` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, width: u8, prefix: u8) -> bool {
    let shift = u32::from(width - prefix);
    // A zero prefix matches everything; `>> 128` would overflow.
    prefix == 0 || (a >> shift) == (b >> shift)
}

/// The IPv4 address inside an IPv4-mapped IPv6 address; any other address unchanged.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || CidrError(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| invalid())?
            }
            Some(_) => return Err(invalid()),
            None => width,
        };
        if prefix > width {
            return Err(invalid());
        }
        Ok(Self { network, prefix })
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the
/// `X-Forwarded-For` chain (all its header lines, in order) is walked from the right, past
/// trusted proxies, to the first address that is not one. Entries left of that address were
/// written by the client and are never believed.
///
/// An entry that is not an address stops the walk at the last trusted hop: something untrusted
/// wrote it, so nothing further left can be believed, and who is behind the hop is unknown.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|block| block.contains(address));
    let mut current = canonical(peer);
    if !is_trusted(current) {
        return current;
    }
    let entries = forwarded_for
        .rev()
        .flat_map(|line| line.rsplit(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty());
    for entry in entries {
        let Some(address) = parse_entry(entry) else {
            return current;
        };
        current = address;
        if !is_trusted(current) {
            return current;
        }
    }
    // Every hop is a trusted proxy: the leftmost is as close to the client as we can know.
    current
}

/// An `X-Forwarded-For` entry: an address, an IPv6 address in brackets, either with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6
            .parse::<Ipv6Addr>()
            .ok()
            .map(|a| canonical(IpAddr::V6(a)));
    }
    let (v4, port) = entry.split_once(':')?;
    port.parse::<u16>().ok()?;
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// What rate limits count a client by: an IPv4 address, or the /64 network of an IPv6 address
/// (one subscriber is given a whole /64 and could otherwise take a new address per request).
pub fn rate_limit_subject(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_limit_subject(a), rate_limit_subject(b));
        assert_ne!(rate_limit_subject(a), rate_limit_subject(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(rate_limit_subject(mapped), "192.0.2.7");
        assert_eq!(
            rate_limit_subject("192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
    }

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_match_by_prefix() {
        assert!(cidr("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(cidr("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!cidr("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(cidr("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!cidr("0.0.0.0/0").contains(ip("::1")));
        assert!(cidr("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assert!(!cidr("2001:db8::/32").contains(ip("2001:db9::5")));
        assert!(cidr("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = [cidr("10.0.0.0/8")];
        // A direct client's header is its own word.
        assert_eq!(
            client_address(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Behind two proxies, with a spoofed entry the client added on the left.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                ["6.6.6.6, 198.51.100.7", "10.0.0.1"].into_iter(),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // A trusted proxy with no header: the proxy is the client as far as we know.
        assert_eq!(
            client_address(ip("10.0.0.2"), std::iter::empty(), &trusted),
            ip("10.0.0.2")
        );
        // Garbage right of the client's entry stops the walk at the last trusted hop.
        assert_eq!(
            client_address(ip("10.0.0.2"), ["198.51.100.7, junk"].into_iter(), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                ["[2001:db8::1]:443, 10.0.0.3:80"].into_iter(),
                &trusted
            ),
            ip("2001:db8::1")
        );
    }
}
