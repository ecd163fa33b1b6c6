//! SSRF guard: which destination addresses and URLs a webhook may reach.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// What the guard lets through. The default refuses every non-public address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// When true, every address passes: for self-hosters whose receivers live on
    /// their own LAN. There are deliberately no finer-grained exceptions.
    pub allow_private_networks: bool,
}

/// Why an address is not publicly routable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    /// 127.0.0.0/8, `::1`.
    Loopback,
    /// RFC 1918, unique-local `fc00::/7`, site-local `fec0::/10`, local NAT64.
    Private,
    /// 169.254.0.0/16, `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    SharedAddressSpace,
    /// Cloud instance metadata: 169.254.169.254, `fd00:ec2::254`.
    Metadata,
    /// 224.0.0.0/4, `ff00::/8`.
    Multicast,
    /// 0.0.0.0, `::`.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 0.0.0.0/8 ("this network").
    ThisNetwork,
    /// Documentation ranges (TEST-NET-1/2/3, `2001:db8::/32`, `3fff::/20`).
    Documentation,
    /// Benchmarking ranges (198.18.0.0/15, `2001:2::/48`).
    Benchmark,
    /// Other special-purpose space: 240.0.0.0/4, IETF 192.0.0.0/24, 6to4 relay
    /// anycast, discard-only `100::/64`, Teredo `2001::/32`.
    Reserved,
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private network",
            Self::LinkLocal => "link-local",
            Self::SharedAddressSpace => "carrier-grade NAT",
            Self::Metadata => "cloud metadata",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::ThisNetwork => "\"this network\"",
            Self::Documentation => "documentation range",
            Self::Benchmark => "benchmarking range",
            Self::Reserved => "reserved range",
        })
    }
}

/// A destination address the policy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("destination address {ip} is not allowed ({reason})")]
pub struct Blocked {
    /// The refused address, as given (an IPv4-mapped IPv6 address stays IPv6).
    pub ip: IpAddr,
    /// Which range it fell in.
    pub reason: BlockReason,
}

/// A webhook URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not parseable as a URL. The parser's reason only, never the URL, which may carry credentials.
    #[error("invalid URL: {0}")]
    Invalid(url::ParseError),
    /// A scheme other than http or https.
    #[error("URL scheme {0:?} is not allowed (only http and https)")]
    Scheme(String),
    /// No host to connect to.
    #[error("URL has no host")]
    NoHost,
    /// The host is a literal IP address the policy refuses.
    #[error(transparent)]
    Blocked(#[from] Blocked),
}

/// Checks one destination address against the policy.
pub fn check_ip(ip: IpAddr, policy: Policy) -> Result<(), Blocked> {
    if policy.allow_private_networks {
        return Ok(());
    }
    let reason = match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    };
    match reason {
        Some(reason) => Err(Blocked { ip, reason }),
        None => Ok(()),
    }
}

/// Parses a webhook URL and refuses what can be refused before any DNS lookup:
/// other schemes, missing hosts and literal IP hosts the policy blocks.
///
/// The `url` crate's WHATWG host parser already turns octal, hex, dotless and
/// short IPv4 forms (`0177.0.0.1`, `0x7f.1`, `2130706433`) into an IPv4 host,
/// so those reach `check_ip` as the address they really denote.
pub fn check_url(url: &str, policy: Policy) -> Result<Url, UrlError> {
    let parsed = Url::parse(url).map_err(UrlError::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(parsed.scheme().to_owned()));
    }
    match parsed.host() {
        None | Some(Host::Domain("")) => return Err(UrlError::NoHost),
        // Names are judged when they resolve, by the sender's resolver.
        Some(Host::Domain(_)) => {}
        Some(Host::Ipv4(v4)) => check_ip(IpAddr::V4(v4), policy)?,
        Some(Host::Ipv6(v6)) => check_ip(IpAddr::V6(v6), policy)?,
    }
    Ok(parsed)
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn v4_reason(ip: Ipv4Addr) -> Option<BlockReason> {
    use BlockReason as R;
    // Order matters: the most specific range names the reason.
    const TABLE: &[([u8; 4], u32, BlockReason)] = &[
        ([0, 0, 0, 0], 32, R::Unspecified),
        ([0, 0, 0, 0], 8, R::ThisNetwork),
        ([10, 0, 0, 0], 8, R::Private),
        ([100, 64, 0, 0], 10, R::SharedAddressSpace),
        ([127, 0, 0, 0], 8, R::Loopback),
        ([169, 254, 169, 254], 32, R::Metadata),
        ([169, 254, 0, 0], 16, R::LinkLocal),
        ([172, 16, 0, 0], 12, R::Private),
        ([192, 0, 0, 0], 24, R::Reserved),
        ([192, 0, 2, 0], 24, R::Documentation),
        ([192, 88, 99, 0], 24, R::Reserved),
        ([192, 168, 0, 0], 16, R::Private),
        ([198, 18, 0, 0], 15, R::Benchmark),
        ([198, 51, 100, 0], 24, R::Documentation),
        ([203, 0, 113, 0], 24, R::Documentation),
        ([224, 0, 0, 0], 4, R::Multicast),
        ([255, 255, 255, 255], 32, R::Broadcast),
        ([240, 0, 0, 0], 4, R::Reserved),
    ];
    TABLE.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)).map(|&(_, _, reason)| reason)
}

/// The IPv4 address an IPv6 address stands for, when it is one of the forms
/// that carry one: a connection to it ends up at that IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) // ::ffff:a.b.c.d mapped
        || in_v6(ip, [0; 8], 96) // ::a.b.c.d compatible (also :: and ::1, handled before)
        || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96)
    // NAT64 well-known prefix
    {
        return Some(low32);
    }
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        // 6to4: the IPv4 address sits right after the 2002::/16 prefix.
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

fn v6_reason(ip: Ipv6Addr) -> Option<BlockReason> {
    use BlockReason as R;
    const TABLE: &[([u16; 8], u32, BlockReason)] = &[
        ([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128, R::Metadata),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, R::Private),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, R::LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, R::Private),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, R::Multicast),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, R::Private),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, R::Reserved),
        ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48, R::Benchmark),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, R::Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, R::Documentation),
        // Teredo hides its client's IPv4 address (XOR-ed); refuse rather than decode.
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, R::Reserved),
    ];
    if ip.is_unspecified() {
        return Some(R::Unspecified);
    }
    if ip.is_loopback() {
        return Some(R::Loopback);
    }
    if let Some(v4) = embedded_v4(ip) {
        return v4_reason(v4);
    }
    TABLE.iter().find(|(net, prefix, _)| in_v6(ip, *net, *prefix)).map(|&(_, _, reason)| reason)
}

#[cfg(test)]
mod tests;
