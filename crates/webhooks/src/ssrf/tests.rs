use super::*;

const DENY: Policy = Policy { allow_private_networks: false };
const ALLOW: Policy = Policy { allow_private_networks: true };

fn reason(s: &str) -> Option<BlockReason> {
    check_ip(s.parse().unwrap(), DENY).err().map(|b| b.reason)
}

#[test]
fn public_addresses_pass() {
    for ip in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "172.32.0.1",
        "100.128.0.1",
        "192.169.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ] {
        assert_eq!(reason(ip), None, "{ip} should pass");
    }
}

#[test]
fn special_v4_ranges_are_refused() {
    use BlockReason as R;
    for (ip, want) in [
        ("127.0.0.1", R::Loopback),
        ("127.255.255.254", R::Loopback),
        ("10.1.2.3", R::Private),
        ("172.16.0.1", R::Private),
        ("172.31.255.255", R::Private),
        ("192.168.1.1", R::Private),
        ("169.254.1.1", R::LinkLocal),
        ("169.254.169.254", R::Metadata),
        ("100.64.0.1", R::SharedAddressSpace),
        ("100.127.255.255", R::SharedAddressSpace),
        ("224.0.0.1", R::Multicast),
        ("239.255.255.250", R::Multicast),
        ("0.0.0.0", R::Unspecified),
        ("0.1.2.3", R::ThisNetwork),
        ("255.255.255.255", R::Broadcast),
        ("240.0.0.1", R::Reserved),
        ("192.0.0.8", R::Reserved),
        ("192.0.2.1", R::Documentation),
        ("198.51.100.7", R::Documentation),
        ("203.0.113.9", R::Documentation),
        ("198.18.0.1", R::Benchmark),
        ("198.19.255.255", R::Benchmark),
    ] {
        assert_eq!(reason(ip), Some(want), "{ip}");
    }
}

#[test]
fn special_v6_ranges_are_refused() {
    use BlockReason as R;
    for (ip, want) in [
        ("::1", R::Loopback),
        ("::", R::Unspecified),
        ("fc00::1", R::Private),
        ("fd12:3456::1", R::Private),
        ("fd00:ec2::254", R::Metadata),
        ("fe80::1", R::LinkLocal),
        ("ff02::1", R::Multicast),
        ("2001:db8::1", R::Documentation),
        ("2001::1", R::Reserved),
        ("100::1", R::Reserved),
    ] {
        assert_eq!(reason(ip), Some(want), "{ip}");
    }
}

#[test]
fn v6_forms_embedding_v4_are_judged_by_the_v4_address() {
    use BlockReason as R;
    for (ip, want) in [
        ("::ffff:127.0.0.1", R::Loopback),
        ("::ffff:169.254.169.254", R::Metadata),
        ("::ffff:10.0.0.1", R::Private),
        ("::127.0.0.1", R::Loopback),
        ("::192.168.0.1", R::Private),
        ("64:ff9b::127.0.0.1", R::Loopback),
        ("64:ff9b::a9fe:a9fe", R::Metadata),
        ("2002:7f00:1::", R::Loopback),
        ("2002:c0a8:101::1", R::Private),
    ] {
        assert_eq!(reason(ip), Some(want), "{ip}");
    }
}

#[test]
fn allow_private_networks_lets_everything_through() {
    for ip in ["127.0.0.1", "169.254.169.254", "fd00:ec2::254", "::ffff:10.0.0.1", "0.0.0.0"] {
        assert_eq!(check_ip(ip.parse().unwrap(), ALLOW), Ok(()), "{ip}");
    }
}

#[test]
fn odd_loopback_encodings_are_normalised_then_refused() {
    for url in [
        "http://127.0.0.1/",
        "http://0177.0.0.1/",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]:8080/hook",
        "https://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
    ] {
        assert!(matches!(check_url(url, DENY), Err(UrlError::Blocked(_))), "{url} should be blocked");
    }
}

#[test]
fn check_url_accepts_what_it_should() {
    let u = check_url("http://127.0.0.1:9/", ALLOW).unwrap();
    assert_eq!(u.port(), Some(9));
    assert!(check_url("https://example.com/hook?x=1", DENY).is_ok());
    assert!(check_url("http://93.184.216.34/", DENY).is_ok());
    // Names are left to the resolver, so localhost passes here.
    assert!(check_url("http://localhost/", DENY).is_ok());
}

#[test]
fn check_url_rejects_bad_shapes() {
    assert!(matches!(check_url("ftp://example.com/", DENY), Err(UrlError::Scheme(s)) if s == "ftp"));
    assert!(matches!(check_url("file:///etc/passwd", ALLOW), Err(UrlError::Scheme(_))));
    assert!(matches!(check_url("unix:/run/x.sock", ALLOW), Err(UrlError::Scheme(_))));
    assert!(matches!(check_url("not a url", ALLOW), Err(UrlError::Invalid(_))));
    assert!(matches!(check_url("http://", ALLOW), Err(UrlError::Invalid(_))));
}

#[test]
fn errors_do_not_echo_credentials() {
    let err = check_url("http://user:hunter2@127.0.0.1/", DENY).unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
    assert_eq!(err.to_string(), "destination address 127.0.0.1 is not allowed (loopback)");
}
