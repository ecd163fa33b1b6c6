//! Receipt text parsing and formatting cases.

use super::*;

const APPENDIX_B: &str = "id:0123456789 sub:001 dlvrd:001 submit date:2401311200 \
    done date:2401311201 stat:DELIVRD err:000 text:Hello world";

fn receipt(text: &str) -> Receipt {
    parse(text.as_bytes()).expect("receipt should parse")
}

#[test]
fn parses_the_appendix_b_format_and_writes_it_back() {
    let r = receipt(APPENDIX_B);
    assert_eq!((r.id.as_str(), r.sub, r.dlvrd), ("0123456789", Some(1), Some(1)));
    assert_eq!((r.submit_date.as_deref(), r.done_date.as_deref()), (Some("2401311200"), Some("2401311201")));
    assert_eq!((r.stat.as_deref(), r.err.as_deref()), (Some("DELIVRD"), Some("000")));
    assert_eq!(r.text.as_deref(), Some("Hello world"));
    assert_eq!(format(&r), APPENDIX_B);
}

#[test]
fn keys_are_case_insensitive_in_any_order_with_variant_date_keys() {
    let r = receipt("STAT:UNDELIV Err:034 DONE_DATE:2401311201 Id:ab12 SubmitDate:2401311200 Sub:1 DLVRD:0");
    assert_eq!(r.id, "ab12");
    assert_eq!(r.stat.as_deref(), Some("UNDELIV"));
    assert_eq!(r.err.as_deref(), Some("034"));
    assert_eq!(r.submit_date.as_deref(), Some("2401311200"));
    assert_eq!(r.done_date.as_deref(), Some("2401311201"));
    assert_eq!((r.sub, r.dlvrd), (Some(1), Some(0)));
    assert_eq!(r.text, None);
}

#[test]
fn extra_whitespace_and_unknown_fields_are_tolerated() {
    let r =
        receipt("\r\n  id : 77   foo:bar  junk  submit   date: 2401311200\tdone date :2401311201 stat: EXPIRED\0\0");
    assert_eq!(r.id, "77");
    assert_eq!(r.submit_date.as_deref(), Some("2401311200"));
    assert_eq!(r.done_date.as_deref(), Some("2401311201"));
    assert_eq!(r.stat.as_deref(), Some("EXPIRED"));
}

#[test]
fn empty_value_does_not_swallow_the_next_key() {
    let r = receipt("id:1 submit date: done date: stat: err:5 text:");
    assert_eq!((r.submit_date, r.done_date, r.stat), (None, None, None));
    assert_eq!(r.err.as_deref(), Some("5"));
    assert_eq!(r.text, None);
}

#[test]
fn text_takes_the_rest_including_key_like_words() {
    let r = receipt("id:1 stat:DELIVRD text:id:2 stat:REJECTD  \0");
    assert_eq!(r.id, "1");
    assert_eq!(r.stat.as_deref(), Some("DELIVRD"));
    assert_eq!(r.text.as_deref(), Some("id:2 stat:REJECTD  "));
}

#[test]
fn first_value_of_a_repeated_key_wins() {
    assert_eq!(receipt("id:1 id:2 sub:3 sub:4").id, "1");
    assert_eq!(receipt("id:1 id:2 sub:3 sub:4").sub, Some(3));
}

#[test]
fn missing_or_empty_id_is_not_a_receipt() {
    assert_eq!(parse(b"sub:001 stat:DELIVRD"), None);
    assert_eq!(parse(b"id: stat:DELIVRD"), None);
    assert_eq!(parse(b""), None);
    assert_eq!(parse(b"identifier:5"), None);
}

#[test]
fn bad_numbers_are_none() {
    let r = receipt("id:1 sub:abc dlvrd:99999999999");
    assert_eq!((r.sub, r.dlvrd), (None, None));
}

#[test]
fn invalid_utf8_is_replaced() {
    let r = parse(b"id:12\xff3 text:caf\xe9").expect("lossy parse");
    assert_eq!(r.id, "12\u{FFFD}3");
    assert_eq!(r.text.as_deref(), Some("caf\u{FFFD}"));
}

#[test]
fn only_the_first_thousand_bytes_are_read() {
    let mut late = " ".repeat(MAX_RECEIPT_BYTES);
    late.push_str("id:1");
    assert_eq!(parse(late.as_bytes()), None);
    let long_text = format!("id:1 text:{}", "x".repeat(5_000));
    assert_eq!(receipt(&long_text).text.map(|t| t.len()), Some(MAX_RECEIPT_BYTES - 10));
}

#[test]
fn formats_defaults_and_cuts_text_at_twenty_chars() {
    let r = Receipt { id: "abc".into(), ..Receipt::default() };
    assert_eq!(format(&r), "id:abc sub:001 dlvrd:001 submit date: done date: stat: err:000 text:");
    let r = Receipt { sub: Some(2), dlvrd: Some(0), text: Some("Grüße aus Köln, schöne Grüße".into()), ..r };
    assert_eq!(format(&r), "id:abc sub:002 dlvrd:000 submit date: done date: stat: err:000 text:Grüße aus Köln, schö");
}

#[test]
fn stat_words_map_to_states() {
    let cases = [
        (" delivrd ", State::Delivered),
        ("Delivered", State::Delivered),
        ("UNDELIVERED", State::Undeliverable),
        ("undeliverable", State::Undeliverable),
        ("REJECTED", State::Rejected),
        ("acceptd", State::Accepted),
        ("FAILED", State::Unknown),
        ("", State::Unknown),
    ];
    for (stat, state) in cases {
        assert_eq!(State::from_stat(stat), state, "{stat:?}");
    }
}

#[test]
fn message_state_values_follow_the_spec() {
    assert_eq!(State::from_message_state(0), None);
    assert_eq!(State::from_message_state(9), None);
    assert_eq!(State::from_message_state(2), Some(State::Delivered));
    assert_eq!(State::from_message_state(8), Some(State::Rejected));
    assert_eq!(State::Undeliverable.message_state(), 5);
}

#[test]
fn only_enroute_and_accepted_are_not_final() {
    let not_final: Vec<_> = (1..=8).filter_map(State::from_message_state).filter(|s| !s.is_final()).collect();
    assert_eq!(not_final, [State::Enroute, State::Accepted]);
}

#[test]
fn dates_are_utc_yymmddhhmm() {
    // Expected values from `date -u -d @SECONDS +%y%m%d%H%M`.
    let cases = [
        (0, "7001010000"),
        (-60, "6912312359"),
        (951_782_400, "0002290000"),
        (951_868_799, "0002292359"),
        (4_107_542_400, "0003010000"),
        (1_700_000_000, "2311142213"),
        (-2_208_988_800, "0001010000"),
        (253_402_300_799, "9912312359"),
    ];
    for (seconds, expected) in cases {
        assert_eq!(date(seconds * 1_000 + 999), expected, "{seconds}");
    }
    assert_eq!(date(-1), "6912312359");
}

#[test]
fn dates_never_panic_at_the_extremes() {
    assert_eq!(date(i64::MAX).len(), 10);
    assert_eq!(date(i64::MIN).len(), 10);
}
