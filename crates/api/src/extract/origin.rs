//! Where a request comes from and how it reached this server: the client's address (for the
//! limits on password guessing) and this API's public base URL (for the next-page URLs some
//! dialects return). The one place that reads `X-Forwarded-For`, `X-Forwarded-Proto` and
//! `X-Forwarded-Host`, and it believes them only from the configured reverse proxies
//! (`[http] trusted_proxies`); from any other client they are ignored.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use textbird_config::{HttpSettings, parse_network};

/// What the router knows about its place in the network, built once from `[http]`.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    trusted: Vec<IpNet>,
    /// `[http] public_base_url` without a trailing `/`; empty when not configured.
    public_base: String,
}

impl Origins {
    pub fn new(http: &HttpSettings) -> Arc<Self> {
        Arc::new(Self {
            trusted: http.trusted_proxies.iter().filter_map(|p| parse_network(p)).collect(),
            public_base: http.public_base_url.trim_end_matches('/').to_owned(),
        })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not one (the proxies append to the right, so
    /// what lies left of the first untrusted hop is the client's to invent).
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|hop| hop.trim().parse::<IpAddr>().map(canonical))
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        Some(hops.into_iter().rev().find(|hop| !self.trusts(*hop)).unwrap_or(peer))
    }

    /// `scheme://host` of this API as the client called it: `[http] public_base_url` when
    /// set; else the forwarded scheme and host when the peer is a trusted proxy; else
    /// `http://` and the `Host` header.
    pub fn public_base(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
        if !self.public_base.is_empty() {
            return self.public_base.clone();
        }
        let header = |name: &str| {
            let value = headers.get(name)?.to_str().ok()?;
            // The first value is the one the outermost proxy set.
            let value = value.split(',').next()?.trim();
            (!value.is_empty()).then_some(value)
        };
        let host_ok = |h: &&str| h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
        let forwarded = peer.is_some_and(|ip| self.trusts(ip));
        let scheme = forwarded
            .then(|| header("x-forwarded-proto"))
            .flatten()
            .filter(|s| s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http"))
            .map_or("http".to_owned(), str::to_ascii_lowercase);
        let host = forwarded
            .then(|| header("x-forwarded-host"))
            .flatten()
            .or_else(|| header("host"))
            .filter(host_ok)
            .unwrap_or("localhost");
        format!("{scheme}://{host}")
    }
}

/// IPv4-mapped IPv6 addresses (a dual-stack listener's view of IPv4 clients) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The TCP peer of a request, when the server recorded it.
fn peer(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

fn origins(parts: &Parts) -> Arc<Origins> {
    parts.extensions.get::<Arc<Origins>>().cloned().unwrap_or_default()
}

/// The address of the client that sent the request (see [`Origins::client_ip`]).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    origins(parts).client_ip(peer(parts), &parts.headers)
}

/// `scheme://host` of this API as the client called it (see [`Origins::public_base`]).
pub fn public_base(parts: &Parts) -> String {
    origins(parts).public_base(peer(parts), &parts.headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(proxies: &[&str], base: &str) -> Arc<Origins> {
        Origins::new(&HttpSettings {
            trusted_proxies: proxies.iter().map(|p| (*p).to_owned()).collect(),
            public_base_url: base.into(),
            ..HttpSettings::default()
        })
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_client_are_ignored() {
        let o = origins(&["10.0.0.0/8"], "");
        let h = headers(&[
            ("host", "api.example.com"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(o.public_base(Some(ip("203.0.113.9")), &h), "http://api.example.com");
        assert_eq!(o.client_ip(Some(ip("203.0.113.9")), &h), Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_trusted_proxy_is_believed() {
        let o = origins(&["10.0.0.0/8", "::1"], "");
        let h = headers(&[
            ("host", "internal:8080"),
            ("x-forwarded-host", "api.example.com"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "1.2.3.4, 198.51.100.1, 10.0.0.2"),
        ]);
        assert_eq!(o.public_base(Some(ip("10.1.2.3")), &h), "https://api.example.com");
        assert_eq!(
            o.client_ip(Some(ip("10.1.2.3")), &h),
            Some(ip("198.51.100.1")),
            "the first hop no proxy of ours added"
        );
        assert_eq!(o.client_ip(Some(ip("::ffff:10.1.2.3")), &h), Some(ip("198.51.100.1")), "mapped IPv4 is IPv4");
        assert_eq!(o.client_ip(Some(ip("::1")), &headers(&[])), Some(ip("::1")), "no header: the proxy itself");
        let garbage = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(o.client_ip(Some(ip("10.0.0.1")), &garbage), Some(ip("10.0.0.1")));
    }

    #[test]
    fn the_configured_base_wins_and_odd_hosts_are_not_echoed() {
        let o = origins(&["10.0.0.0/8"], "https://sms.example.com/");
        assert_eq!(
            o.public_base(Some(ip("10.0.0.1")), &headers(&[("x-forwarded-host", "x")])),
            "https://sms.example.com"
        );
        let o = origins(&[], "");
        assert_eq!(o.public_base(Some(ip("203.0.113.9")), &headers(&[("host", "a b<script>")])), "http://localhost");
        assert_eq!(o.public_base(None, &headers(&[("host", "127.0.0.1:8080")])), "http://127.0.0.1:8080");
    }
}
