//! Where a request comes from: the client's address and its `User-Agent`.
//!
//! The address is the TCP peer's, unless the peer is one of the `TRUSTED_PROXIES`: then
//! `X-Forwarded-For` is read from its right end, where each trusted proxy appended the address it
//! was connected from, and the first address that is not itself a trusted proxy is the client.
//! Everything left of that was written by the client, and is never believed.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, web};
use domain::ClientInfo;
use ipnet::IpNet;

use crate::middleware::request_id;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The reverse proxies whose `X-Forwarded-For` is believed: addresses and CIDR ranges. Register
/// one `web::Data<TrustedProxies>`; without it no proxy is trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither an IP address nor a CIDR range such as 10.0.0.0/8")]
pub struct InvalidProxy(pub String);

impl TrustedProxies {
    /// Parses addresses (`192.0.2.7`, `::1`) and ranges (`10.0.0.0/8`, `fd00::/8`); host bits of
    /// a range are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidProxy> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                let canonical_host = |ip: IpAddr| IpNet::from(ip.to_canonical());
                IpNet::from_str(entry)
                    .map(|net| net.trunc())
                    .or_else(|_| IpAddr::from_str(entry).map(canonical_host))
                    .map_err(|_| InvalidProxy(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every IPv4 or every IPv6 address is trusted, so any client of that family can
    /// name its own address.
    pub fn trusts_everyone(&self) -> bool {
        self.0.iter().any(|net| net.prefix_len() == 0)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the entries of its `X-Forwarded-For` headers from the
    /// right (the last header's last entry first). The walk moves left only while the hop it
    /// stands on is trusted, so every address it takes was written by a trusted proxy:
    /// - an untrusted peer is the client, whatever its headers say;
    /// - an entry that is not an address (`unknown`, an empty item, text) stops the walk at the
    ///   trusted hop that passed it on, which then counts as the client;
    /// - when every hop is trusted, the left-most address is the client.
    pub fn client_behind<'a>(
        &self,
        peer: IpAddr,
        forwarded_from_the_right: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        for hop in forwarded_from_the_right {
            if !self.trusts(client) {
                break;
            }
            match parse_hop(hop) {
                Some(ip) => client = ip.to_canonical(),
                None => break,
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, also with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:443`) or bracketed (`[2001:db8::1]`), as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    IpAddr::from_str(hop)
        .ok()
        .or_else(|| SocketAddr::from_str(hop).ok().map(|socket| socket.ip()))
        .or_else(|| {
            let inner = hop.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        })
}

/// The `X-Forwarded-For` entries from the right: all headers joined in order, as one list. A
/// header value that is not visible ASCII is one entry that is not an address.
pub(crate) fn forwarded_from_the_right(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let values: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .map(|value| value.to_str().unwrap_or_default())
        .collect();
    values.into_iter().rev().flat_map(|value| value.rsplit(','))
}

/// The client's address (see the module's rule); `None` only for a request without a peer, which
/// a listening server never sees. Without a registered `TrustedProxies`, no proxy is trusted.
pub(crate) fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    Some(match req.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) if proxies.trusts(peer) => {
            proxies.client_behind(peer, forwarded_from_the_right(req.headers()))
        }
        _ => peer.to_canonical(),
    })
}

/// The client's address and the `User-Agent`, as a session records them, with the request's id
/// (its `X-Request-Id`), as the audit log records it.
pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    let ip = client_address(req)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let client = ClientInfo::new(&ip, &agent);
    match request_id(req) {
        Some(id) => client.with_request_id(&id),
        None => client,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).expect("valid proxies")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    /// The client `proxies` see behind `peer` for these `X-Forwarded-For` headers.
    fn client(proxies: &TrustedProxies, peer: &str, headers: &[&str]) -> IpAddr {
        let mut req = TestRequest::default().peer_addr(SocketAddr::new(ip(peer), 4711));
        for value in headers {
            req = req.append_header((X_FORWARDED_FOR, *value));
        }
        let req = req
            .app_data(web::Data::new(proxies.clone()))
            .to_http_request();
        client_address(&req).expect("a peer")
    }

    #[test]
    fn addresses_and_ranges_parse_and_garbage_is_refused() {
        let parsed = proxies(&["127.0.0.1", " 10.1.2.3/8 ", "::1", "fd00::/8"]);
        assert!(parsed.trusts(ip("127.0.0.1")));
        assert!(parsed.trusts(ip("10.255.0.1")));
        assert!(parsed.trusts(ip("::1")));
        assert!(parsed.trusts(ip("fd12::7")));
        assert!(parsed.trusts(ip("::ffff:10.0.0.1")), "IPv4-mapped peers");
        assert!(!parsed.trusts(ip("127.0.0.2")));
        assert!(!parsed.trusts(ip("11.0.0.1")));
        for bad in ["", "localhost", "10.0.0.0/33", "10.0.0", "1.2.3.4:80"] {
            assert_eq!(
                TrustedProxies::parse(&[bad]),
                Err(InvalidProxy(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(proxies(&["0.0.0.0/0"]).trusts_everyone());
        assert!(!proxies(&["10.0.0.0/8"]).trusts_everyone());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_its_headers_say() {
        let none = TrustedProxies::default();
        assert_eq!(
            client(&none, "192.0.2.1", &["203.0.113.9"]),
            ip("192.0.2.1")
        );
        let local = proxies(&["127.0.0.1"]);
        assert_eq!(
            client(&local, "192.0.2.1", &["203.0.113.9"]),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() {
        let chain = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(
            client(&chain, "127.0.0.1", &["203.0.113.9"]),
            ip("203.0.113.9")
        );
        // The client's own claim (left) is passed over; the address the proxy saw is taken.
        assert_eq!(
            client(&chain, "127.0.0.1", &["6.6.6.6, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // Two proxies: the outer one (10.0.0.5) appended the client, the inner one the outer.
        assert_eq!(
            client(&chain, "127.0.0.1", &["6.6.6.6, 203.0.113.9, 10.0.0.5"]),
            ip("203.0.113.9")
        );
        // Several headers are one list, in order.
        assert_eq!(
            client(&chain, "127.0.0.1", &["6.6.6.6", "203.0.113.9", "10.0.0.5"]),
            ip("203.0.113.9")
        );
        // A trusted peer without the header is the client.
        assert_eq!(client(&chain, "127.0.0.1", &[]), ip("127.0.0.1"));
    }

    #[test]
    fn entries_with_ports_brackets_or_spaces_are_addresses() {
        let local = proxies(&["127.0.0.1"]);
        for (header, expected) in [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("  2001:DB8::2  ", "2001:db8::2"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ] {
            assert_eq!(
                client(&local, "127.0.0.1", &[header]),
                ip(expected),
                "{header}"
            );
        }
    }

    #[test]
    fn garbage_stops_the_walk_at_the_trusted_hop_that_passed_it_on() {
        let chain = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        for header in [
            "unknown",
            "",
            "203.0.113.9,",
            "fe80::1%eth0",
            "not an address",
        ] {
            assert_eq!(
                client(&chain, "127.0.0.1", &[header]),
                ip("127.0.0.1"),
                "{header:?}"
            );
        }
        // What lies left of the garbage, the client's own text, is never reached.
        assert_eq!(
            client(&chain, "127.0.0.1", &["6.6.6.6, unknown, 10.0.0.5"]),
            ip("10.0.0.5")
        );
        // But garbage left of the client does not matter.
        assert_eq!(
            client(&chain, "127.0.0.1", &["unknown, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        let unreadable = header::HeaderValue::from_bytes(b"\xff203.0.113.9")
            .expect("obs-text is a valid header value");
        let req = TestRequest::default()
            .peer_addr(SocketAddr::new(ip("127.0.0.1"), 4711))
            .insert_header((X_FORWARDED_FOR, unreadable))
            .app_data(web::Data::new(chain))
            .to_http_request();
        assert_eq!(client_address(&req), Some(ip("127.0.0.1")));
    }

    #[test]
    fn a_chain_of_trusted_hops_only_gives_its_left_most_address() {
        let chain = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(
            client(&chain, "127.0.0.1", &["10.0.0.7, 10.0.0.5"]),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn without_registered_proxies_the_peer_is_the_client() {
        let req = TestRequest::default()
            .peer_addr(SocketAddr::new(ip("127.0.0.1"), 4711))
            .insert_header((X_FORWARDED_FOR, "203.0.113.9"))
            .to_http_request();
        assert_eq!(client_address(&req), Some(ip("127.0.0.1")));
        assert_eq!(client_info(&req).ip_address(), "127.0.0.1");
    }
}
