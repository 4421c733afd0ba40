//! Who the client is behind a proxy. Only a trusted proxy's word counts:
//! from any other peer, `X-Forwarded-For`, `Forwarded` and
//! `X-Forwarded-Proto` change nothing, so a client cannot forge its way past
//! a limit or a ban.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::dev::RequestHead;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The proxies (CIDRs) allowed to say who the client is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    pub fn new(nets: &[IpNet]) -> Self {
        Self { nets: nets.to_vec() }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the right-most hop of its forwarded chain that is not one (the
    /// hops to its left were written by the client and prove nothing).
    pub fn client_addr(&self, head: &RequestHead) -> IpAddr {
        let peer = head.peer_addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        if !self.trusts(peer) {
            return peer.to_canonical();
        }
        let hops = forwarded_hops(&head.headers);
        // `::ffff:1.2.3.4` (a dual-stack listener's IPv4 peer) is 1.2.3.4:
        // one address, one budget, one ban.
        hops.iter().rev().find(|ip| !self.trusts(**ip)).or(hops.first()).copied().unwrap_or(peer).to_canonical()
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

/// The addresses of a request's forwarded chain, client first: from
/// `Forwarded` (RFC 7239) when present, else `X-Forwarded-For`. A hop that
/// is not an address (`unknown`, an obfuscated name) ends the chain there.
fn forwarded_hops(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name| headers.get_all(name).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        let fors = forwarded.split(',').filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"').to_owned())
            })
        });
        return fors.filter_map(|node| parse_node(&node)).collect();
    }
    values("x-forwarded-for").split(',').map(str::trim).filter_map(parse_node).collect()
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

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(&["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()])
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
        assert_eq!(client("127.0.0.1", &[("forwarded", rfc)]), "2001:db8:cafe::17");
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
