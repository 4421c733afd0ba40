//! Who the client is behind a proxy. Only a trusted proxy's word counts,
//! and only in the one header it is configured to write (the other comes
//! from the client, passed through untouched): from any other peer,
//! `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` change nothing,
//! so a client cannot forge its way past a limit or a ban.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::dev::RequestHead;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;
use serde::Deserialize;

/// The header the trusted proxies write the client's address in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

/// The proxies (CIDRs) allowed to say who the client is, and where.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(nets: &[IpNet], header: ForwardedHeader) -> Self {
        Self { nets: nets.to_vec(), header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the right-most hop of its forwarded chain that is not one (the
    /// hops to its left were written by the client and prove nothing). A
    /// hop that is not an address (`unknown`) ends the chain: the client is
    /// the nearest proxy's then.
    pub fn client_addr(&self, head: &RequestHead) -> IpAddr {
        let peer = head.peer_addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        let mut nearest = peer;
        if self.trusts(peer) {
            for hop in forwarded_hops(&head.headers, self.header).into_iter().rev() {
                match hop {
                    Some(ip) if self.trusts(ip) => nearest = ip,
                    Some(ip) => return ip.to_canonical(),
                    None => break,
                }
            }
        }
        // `::ffff:1.2.3.4` (a dual-stack listener's IPv4 peer) is 1.2.3.4:
        // one address, one budget, one ban.
        nearest.to_canonical()
    }

    /// The page's own origin as the browser sees it: `scheme://host`.
    pub fn own_origin(&self, head: &RequestHead, own_scheme: &str) -> Option<String> {
        let host = head.headers.get(actix_web::http::header::HOST)?.to_str().ok()?;
        Some(format!("{}://{host}", self.scheme(head, own_scheme)))
    }

    /// The scheme the browser used: what a trusted proxy says, else this
    /// server's own.
    pub fn scheme<'a>(&self, head: &'a RequestHead, own: &'a str) -> &'a str {
        let peer = head.peer_addr.map(|addr| addr.ip());
        if !peer.is_some_and(|ip| self.trusts(ip)) {
            return own;
        }
        let proto = head.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
        match proto.map(|p| p.split(',').next().unwrap_or(p).trim()) {
            Some("https") => "https",
            Some("http") => "http",
            _ => own,
        }
    }
}

/// The hops of a request's forwarded chain in `header`, client first;
/// `None` for one that is not an address (`unknown`, an obfuscated name).
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let values = |name| headers.get_all(name).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    match header {
        ForwardedHeader::Forwarded => values("forwarded")
            .split(',')
            .filter(|element| !element.trim().is_empty())
            .map(|element| {
                let node = element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
                });
                node.and_then(parse_node)
            })
            .collect(),
        ForwardedHeader::XForwardedFor => {
            values("x-forwarded-for").split(',').map(str::trim).filter(|hop| !hop.is_empty()).map(parse_node).collect()
        }
    }
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.rsplit_once(':').and_then(|(host, _port)| host.parse().ok())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn proxies_writing(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::new(&["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()], header)
    }

    fn proxies() -> TrustedProxies {
        proxies_writing(ForwardedHeader::XForwardedFor)
    }

    fn from(peer: &str, headers: &[(&str, &str)]) -> actix_web::dev::ServiceRequest {
        let mut request = TestRequest::default().peer_addr(format!("{peer}:5000").parse().unwrap());
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        request.to_srv_request()
    }

    fn client(peer: &str, headers: &[(&str, &str)]) -> String {
        proxies().client_addr(from(peer, headers).head()).to_string()
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "203.0.113.7")]), "203.0.113.7");
        assert_eq!(client("198.51.100.2", &[("x-forwarded-for", "203.0.113.7")]), "198.51.100.2", "forged");
        assert_eq!(client("127.0.0.1", &[]), "127.0.0.1", "no header: the proxy itself");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        // The client wrote the first hop itself; our two proxies added the rest.
        let chain = "1.1.1.1, 203.0.113.7, 10.1.2.3";
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", chain)]), "203.0.113.7");
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]), "10.0.0.5", "all trusted");
        let rfc = r#"for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.9"#;
        let request = from("127.0.0.1", &[("forwarded", rfc)]);
        assert_eq!(
            proxies_writing(ForwardedHeader::Forwarded).client_addr(request.head()).to_string(),
            "2001:db8:cafe::17"
        );
    }

    #[test]
    fn only_the_header_the_proxies_write_counts() {
        // nginx writes X-Forwarded-For and passes the client's own Forwarded through.
        let forged = [("forwarded", "for=203.0.113.99"), ("x-forwarded-for", "198.51.100.7")];
        assert_eq!(client("127.0.0.1", &forged), "198.51.100.7");
        assert_eq!(client("127.0.0.1", &[("forwarded", "for=203.0.113.99")]), "127.0.0.1", "the proxy itself");
        let request = from("127.0.0.1", &forged);
        let rfc = proxies_writing(ForwardedHeader::Forwarded).client_addr(request.head());
        assert_eq!(rfc.to_string(), "203.0.113.99", "a proxy writing Forwarded");
    }

    #[test]
    fn a_hop_that_is_not_an_address_ends_the_chain() {
        // The client wrote 6.6.6.6; a proxy of ours could not tell who sent it to it.
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "6.6.6.6, unknown, 10.0.0.7")]), "10.0.0.7");
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "6.6.6.6, unknown")]), "127.0.0.1");
    }

    #[test]
    fn an_ipv4_peer_of_a_dual_stack_listener_is_its_ipv4_address() {
        assert_eq!(client("[::ffff:198.51.100.2]", &[]), "198.51.100.2", "one address, one ban");
        let proxied = client("[::ffff:127.0.0.1]", &[("x-forwarded-for", "::ffff:203.0.113.7")]);
        assert_eq!(proxied, "203.0.113.7", "a trusted proxy, seen mapped, naming a mapped client");
    }

    #[test]
    fn the_scheme_is_the_proxys_only_from_a_trusted_one() {
        let proxied = from("127.0.0.1", &[("x-forwarded-proto", "https")]);
        assert_eq!(proxies().scheme(proxied.head(), "http"), "https");
        let forged = from("198.51.100.2", &[("x-forwarded-proto", "https")]);
        assert_eq!(proxies().scheme(forged.head(), "http"), "http");
    }
}
