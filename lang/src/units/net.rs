//! IP addresses and CIDR networks, as strict as KumoMTA's `cidr-map`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{UnitError, first_whitespace, span};

/// IP literal (v4 or v6) and CIDR. A bare IP is a /32 or /128 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Every address of its family (`0.0.0.0/0`, `::/0`).
    pub fn is_any(&self) -> bool {
        self.prefix == 0
    }

    /// A single address (`/32` or `/128`).
    pub fn is_host(&self) -> bool {
        self.prefix >= family_bits(self.addr)
    }

    /// Whether `ip` is inside this network. Addresses of the other family never are (as with
    /// the cidr crate KumoMTA uses).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = v4_mask(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = v6_mask(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The network address with host bits cleared.
    pub fn network(&self) -> Cidr {
        Cidr {
            addr: mask_addr(self.addr, self.prefix),
            prefix: self.prefix.min(family_bits(self.addr)),
        }
    }
}

fn family_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn mask_addr(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & v4_mask(prefix))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & v6_mask(prefix))),
    }
}

/// "10.0.0.0/8"; a single host is printed without its prefix ("127.0.0.1", "::1"), like the
/// cidr crate's `Display` (`if f.alternate() || !self.is_host_address() { "{}/{}" } else
/// { "{}" }`), which is how KumoMTA prints CIDR lists.
impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// An IP address (v4 or v6), as `std::net::IpAddr::from_str` reads it (KumoMTA's
/// `source_address` and similar fields are `IpAddr`).
pub fn parse_ip(s: &str) -> Result<IpAddr, UnitError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip);
    }
    Err(ip_error(s, 0, "an IP address"))
}

/// A friendly error for text (at `off`) that `IpAddr::from_str` rejected. Its suggestion (when
/// set) is the address alone, corrected; a caller that parsed more than the address
/// recomposes it.
fn ip_error(text: &str, off: usize, what: &str) -> UnitError {
    let range = span(off, text.len());
    if text.is_empty() {
        return UnitError::new(format!("missing {what}"), off..off);
    }
    if let Some(ws) = first_whitespace(text) {
        let fixed: String = text.split_whitespace().collect();
        let e = UnitError::new(
            format!("{what} cannot contain whitespace"),
            ws.start.saturating_add(off)..ws.end.saturating_add(off),
        );
        return if fixed.parse::<IpAddr>().is_ok() {
            e.suggest(fixed)
        } else {
            e.with_help("remove the spaces")
        };
    }
    let e = UnitError::new(format!("`{text}` is not {what}"), range);
    if text.contains('/') {
        return e.with_help("a network (CIDR) is not allowed here, only a single address");
    }
    if let Some((inner, _)) = text.strip_prefix('[').and_then(|t| t.split_once(']'))
        && inner.parse::<Ipv6Addr>().is_ok()
    {
        return e
            .with_help(format!("write the address alone: `{inner}`"))
            .with_suggestion(inner);
    }
    if let Some((host, port)) = text.rsplit_once(':')
        && host.parse::<Ipv4Addr>().is_ok()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return e.with_help(format!("write the address without the port: `{host}`"));
    }
    if text.contains('%') {
        return e.with_help("IPv6 zone ids (`%eth0`) are not supported");
    }
    // An example, not a suggestion: only the writer knows the address they meant.
    e.with_help("write an IPv4 address like `192.0.2.10` or an IPv6 address like `2001:db8::10`")
}

/// An IP network as KumoMTA's `cidr_map::parse_cidr` reads it (`AnyIpCidr::from_str`, cidr
/// crate `parsers::parse_any_cidr`):
/// ```text
/// if s == "any" { return Ok(AnyIpCidr::Any); }
/// match s.rfind('/') {
///     None => Ok(host_parser(s)?.into()),                    // IpAddr::from_str, a host
///     Some(pos) => AnyIpCidr::new(address_parser(&s[0..pos])?, parse_prefix_len(&s[pos + 1..])?),
/// }
/// ```
/// `parse_prefix_len` is `u8::from_str` (so `+24` and `024` pass), and `new` rejects a length
/// beyond the family's bits and a non-zero host part ("host part of address was not zero";
/// KumoMTA adds "Did you mean 192.168.1.0/24?").
///
/// One deliberate difference: KumoMTA reads `any` as "every IPv4 and IPv6 address"; a [`Cidr`]
/// has one family, so `any` is an error here whose help says to write `0.0.0.0/0` and `::/0`.
pub fn parse_cidr(s: &str) -> Result<Cidr, UnitError> {
    // No piece trims, so KumoMTA rejects whitespace anywhere.
    if let Some(ws) = first_whitespace(s) {
        let fixed: String = s.split_whitespace().collect();
        let e = UnitError::new("an IP network cannot contain whitespace", ws);
        return Err(if !fixed.is_empty() && parse_cidr(&fixed).is_ok() {
            e.suggest(fixed)
        } else {
            e.with_help("remove the spaces")
        });
    }
    if s == "any" {
        return Err(UnitError::new(
            "`any` is not supported here: a network has one address family",
            0..s.len(),
        )
        .with_help("write `0.0.0.0/0` (every IPv4 address) and `::/0` (every IPv6 address)"));
    }
    let Some(slash) = s.rfind('/') else {
        return match s.parse::<IpAddr>() {
            Ok(addr) => Ok(Cidr {
                addr,
                prefix: family_bits(addr),
            }),
            Err(_) => Err(ip_error(s, 0, "an IP address or network")),
        };
    };
    let addr_text = s.get(..slash).unwrap_or_default();
    let len_off = slash.saturating_add(1);
    let len_text = s.get(len_off..).unwrap_or_default();
    let addr = match addr_text.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => {
            let mut e = ip_error(addr_text, 0, "an IP address");
            // The address's correction, with the prefix length written after it.
            if let Some(fixed) = e.suggestion.take() {
                let fixed = format!("{fixed}/{len_text}");
                e = if parse_cidr(&fixed).is_ok() {
                    e.suggest(fixed)
                } else {
                    e.with_help("write an address, `/` and a prefix length, like `10.0.0.0/8`")
                };
            }
            // `10/8`, `192.168/16`: std (and so KumoMTA) wants all four parts.
            let parts = addr_text.split('.').count();
            let short = !addr_text.is_empty()
                && parts < 4
                && addr_text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if short {
                let pad = ".0".repeat(4usize.saturating_sub(parts));
                let fixed = format!("{addr_text}{pad}/{len_text}");
                if parse_cidr(&fixed).is_ok() {
                    let mut e = e.suggest(fixed.clone());
                    e.help = Some(format!("write all four parts: `{fixed}`"));
                    return Err(e);
                }
            }
            return Err(e);
        }
    };
    let bits = family_bits(addr);
    let prefix = match len_text.parse::<u8>() {
        Ok(p) => p,
        Err(_) => {
            let range = if len_text.is_empty() {
                len_off..len_off
            } else {
                span(len_off, len_text.len())
            };
            let message = if len_text.is_empty() {
                "missing prefix length after `/`".to_string()
            } else {
                format!("invalid prefix length `{len_text}`")
            };
            return Err(UnitError::new(message, range)
                .with_help(format!("the prefix length is a number from 0 to {bits}")));
        }
    };
    if prefix > bits {
        return Err(UnitError::new(
            format!(
                "prefix length {prefix} is too long for an IPv{} address",
                if bits == 32 { 4 } else { 6 }
            ),
            span(len_off, len_text.len()),
        )
        .with_help(format!("the prefix length is a number from 0 to {bits}")));
    }
    let cidr = Cidr { addr, prefix };
    let network = cidr.network();
    if network.addr != addr {
        return Err(UnitError::new(
            format!("{s} is not a valid CIDR: host part of address was not zero"),
            span(0, addr_text.len()),
        )
        .with_help(format!("did you mean `{}/{prefix}`?", network.addr))
        .with_suggestion(format!("{}/{prefix}", network.addr)));
    }
    Ok(cidr)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::units::test_util::{at, err};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let c = parse_cidr("10.0.0.0/8").unwrap();
        assert_eq!(
            c,
            Cidr {
                addr: ip("10.0.0.0"),
                prefix: 8
            }
        );
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains(ip("10.255.1.2")));
        assert!(!c.contains(ip("11.0.0.0")));
        assert!(!c.contains(ip("::ffff:10.0.0.1")));
        assert!(!c.is_host() && !c.is_any());

        let h = parse_cidr("127.0.0.1").unwrap();
        assert_eq!(
            h,
            Cidr {
                addr: ip("127.0.0.1"),
                prefix: 32
            }
        );
        assert!(h.is_host());
        assert_eq!(h.to_string(), "127.0.0.1");
        assert_eq!(parse_cidr("127.0.0.1/32").unwrap().to_string(), "127.0.0.1");

        let h6 = parse_cidr("::1").unwrap();
        assert_eq!(h6.prefix, 128);
        assert_eq!(h6.to_string(), "::1");
        assert!(h6.contains(ip("::1")) && !h6.contains(ip("::2")));

        let any = parse_cidr("0.0.0.0/0").unwrap();
        assert!(any.is_any());
        assert!(any.contains(ip("1.2.3.4")));
        assert!(!any.contains(ip("::1")));
        assert!(parse_cidr("::/0").unwrap().contains(ip("2001:db8::1")));

        let n6 = parse_cidr("2001:db8::/32").unwrap();
        assert_eq!(n6.to_string(), "2001:db8::/32");
        assert!(n6.contains(ip("2001:db8:1::1")));
        assert!(!n6.contains(ip("2001:db9::1")));

        // Defaults from KumoMTA cidr-map set.rs
        for s in ["127.0.0.1", "::1", "127.0.0.0/8", "0.0.0.0", "::"] {
            let c = parse_cidr(s).unwrap();
            assert_eq!(parse_cidr(&c.to_string()), Ok(c), "{s}");
            assert_eq!(c.to_string(), s);
        }
        // u8::from_str accepts these prefix forms, as in KumoMTA.
        assert_eq!(parse_cidr("10.0.0.0/+8").unwrap().prefix, 8);
        assert_eq!(parse_cidr("10.0.0.0/08").unwrap().prefix, 8);

        for s in [
            "192.168.1.1/24",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "any",
            "10.0.0/8",
            "10/8",
            "1.2.3.4 ",
            "",
            "/8",
            "10.0.0.0/8/8",
            "[::1]",
            "1.2.3.4:25",
            "localhost",
            "fe80::1%eth0",
            "10.0.0.0/-1",
        ] {
            assert!(parse_cidr(s).is_err(), "{s:?}");
        }
        let s = "192.168.1.1/24";
        let e = err(parse_cidr(s));
        assert_eq!(e.help.as_deref(), Some("did you mean `192.168.1.0/24`?"));
        assert_eq!(at(s, &e), "192.168.1.1");
        let s = "10.0.0.0/33";
        let e = err(parse_cidr(s));
        assert_eq!(at(s, &e), "33");
        let e = err(parse_cidr("2001:db8::1/32"));
        assert_eq!(e.help.as_deref(), Some("did you mean `2001:db8::/32`?"));
        assert!(
            err(parse_cidr("any"))
                .help
                .as_deref()
                .unwrap()
                .contains("::/0")
        );
        assert_eq!(
            err(parse_cidr("10/8")).help.as_deref(),
            Some("write all four parts: `10.0.0.0/8`")
        );
        assert_eq!(
            err(parse_cidr("192.168/16")).help.as_deref(),
            Some("write all four parts: `192.168.0.0/16`")
        );
        let e = err(parse_cidr("10.0.0.0/"));
        assert_eq!(e.message, "missing prefix length after `/`");
        assert_eq!(e.range, 9..9);

        // A suggestion is the writer's own network, corrected, never an example address.
        for (s, fixed) in [
            ("10.0.0.1/8", Some("10.0.0.0/8")),
            ("10/8", Some("10.0.0.0/8")),
            ("10.0.0.0 /8", Some("10.0.0.0/8")),
            ("10.0.0.0/ 8", Some("10.0.0.0/8")),
            ("[2001:db8::]/32", Some("2001:db8::/32")),
            ("[::1]", Some("::1")),
            ("10.0.0.256/8", None),
            ("10.0.0.256", None),
            ("any", None),
            ("10.0.0.0/33", None),
            ("mail.example.com", None),
            ("10.0.0.1:25", None),
        ] {
            let e = err(parse_cidr(s));
            assert_eq!(e.suggestion.as_deref(), fixed, "{s:?}: {e:?}");
            if let Some(f) = fixed {
                assert!(parse_cidr(f).is_ok());
            }
        }
    }

    #[test]
    fn ips() {
        assert_eq!(parse_ip("192.0.2.1"), Ok(ip("192.0.2.1")));
        assert_eq!(parse_ip("2001:db8::1"), Ok(ip("2001:db8::1")));
        assert_eq!(parse_ip("::ffff:1.2.3.4"), Ok(ip("::ffff:1.2.3.4")));
        for s in [
            "",
            "10.0.0.0/8",
            "[::1]",
            "1.2.3.4:25",
            "1.2.3",
            "01.2.3.4",
            " 1.2.3.4",
            "host",
        ] {
            assert!(parse_ip(s).is_err(), "{s:?}");
        }
        assert!(
            err(parse_ip("10.0.0.0/8"))
                .help
                .as_deref()
                .unwrap()
                .contains("CIDR")
        );
        assert_eq!(
            err(parse_ip("[::1]")).help.as_deref(),
            Some("write the address alone: `::1`")
        );
        assert_eq!(
            err(parse_ip("1.2.3.4:25")).help.as_deref(),
            Some("write the address without the port: `1.2.3.4`")
        );
        let e = err(parse_ip("1.2.3.4 "));
        assert_eq!(e.range, 7..8);
    }
}
