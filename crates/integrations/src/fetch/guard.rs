//! The SSRF guard: which addresses a server-side fetch may connect to, and the resolver that
//! enforces it on the addresses actually connected to.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is a public unicast address a fetch may reach: not loopback, private (RFC 1918,
/// unique local), shared (carrier-grade NAT, where some clouds put their metadata service),
/// link-local (where `169.254.169.254` lives), unspecified, multicast, broadcast, reserved or a
/// documentation/benchmark range; IPv4 addresses mapped into, or translated through, IPv6 are
/// judged by their IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = a == 0                                   // 0.0.0.0/8 "this network"
        || a == 10                                         // 10/8 private
        || (a == 100 && (64..128).contains(&b))            // 100.64/10 shared (CGNAT)
        || a == 127                                        // loopback
        || (a == 169 && b == 254)                          // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))             // 172.16/12 private
        || (a == 192 && b == 0 && c == 0)                  // 192.0.0/24 protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // TEST-NET-1
        || (a == 192 && b == 88 && c == 99)                // 6to4 relay anycast
        || (a == 192 && b == 168)                          // 192.168/16 private
        || (a == 198 && (b == 18 || b == 19))              // 198.18/15 benchmarking
        || (a == 198 && b == 51 && c == 100)               // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)                // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [_, _, _, _, _, _, hi, lo] = s;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return is_public_v4(v4);
    }
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[0..6] == [0, 0, 0, 0, 0, 0]                   // IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00                       // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80                       // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0                       // fec0::/10 site-local
        || (s[0] == 0x2001 && s[1] == 0x0db8)              // documentation
        || s[0] == 0x2002                                  // 6to4 (embeds any IPv4)
        || (s[0] == 0x2001 && s[1] == 0)                   // Teredo (embeds any IPv4)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // 100::/64 discard
    !blocked
}

/// Whether the guard lets a connection go to `ip`: a public address, or a loopback one when the
/// test switch allows loopback.
pub(crate) fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    is_public(ip) || (allow_loopback && ip.is_loopback())
}

/// A resolver that answers only allowed addresses: a name that resolves to any other is refused
/// before any connection is made, and since the connector connects to exactly what the resolver
/// answers, the check holds for the address connected to (a second lookup cannot rebind it).
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub(crate) allow_loopback: bool,
    /// Fixed answers for names (tests point a name at a private address with it).
    pub(crate) hosts: Arc<HashMap<String, Vec<IpAddr>>>,
}

/// The error a refused name resolves to; the fetcher recognises it in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to no public address")]
pub(crate) struct RefusedName(pub(crate) String);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_ascii_lowercase();
            let found: Vec<IpAddr> = match this.hosts.get(&host) {
                Some(fixed) => fixed.clone(),
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await?
                    .map(|a| a.ip())
                    .collect(),
            };
            // One refused address refuses the name: a name that answers both a public and a
            // private address is someone's attempt to reach the private one.
            if found.is_empty() || !found.iter().all(|ip| allowed(*ip, this.allow_loopback)) {
                return Err(Box::new(RefusedName(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Vec<SocketAddr> =
                found.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "2002:7f00:1::",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert!(!is_public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert!(is_public(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn the_test_switch_allows_loopback_and_nothing_else() {
        assert!(allowed("127.0.0.1".parse().expect("ip"), true));
        assert!(allowed("::1".parse().expect("ip"), true));
        assert!(!allowed("127.0.0.1".parse().expect("ip"), false));
        assert!(!allowed("169.254.169.254".parse().expect("ip"), true));
        assert!(!allowed("10.0.0.1".parse().expect("ip"), true));
    }
}
