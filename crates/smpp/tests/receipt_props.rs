//! Property tests for delivery receipt text: no panics on any input, what we write reads
//! back, and the state tables agree with each other.

use proptest::prelude::*;
use textbird_smpp::receipt::{MAX_RECEIPT_BYTES, Receipt, State, date, format, parse};

const CASES: u32 = 4_096;

/// Receipt-shaped text with the keys in random order, case and spacing, plus noise.
fn receipt_like() -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(vec![
        "id",
        "ID",
        "sub",
        "dlvrd",
        "submit date",
        "Submit_Date",
        "submitdate",
        "done date",
        "DONE_DATE",
        "stat",
        "err",
        "text",
        "foo",
        "",
        "submit",
        "done",
    ]);
    let field = (key, "[ \t]{0,2}", "[ \t]{0,2}", "[0-9A-Za-z:\u{e9}\0]{0,12}", "[ \t\0\r\n]{0,3}")
        .prop_map(|(k, a, b, v, sep)| format!("{k}{a}:{b}{v}{sep}"));
    prop::collection::vec(field, 0..12).prop_map(|fields| fields.concat().into_bytes())
}

fn token() -> impl Strategy<Value = String> {
    "[0-9A-Za-z]{1,20}"
}

fn no_control_text() -> impl Strategy<Value = String> {
    prop_oneof!["\\PC{0,40}", "[ a-zA-Z:]{0,30}"]
}

fn state() -> impl Strategy<Value = State> {
    (1u8..=8).prop_map(|v| State::from_message_state(v).expect("defined"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn parse_never_panics(bytes in prop_oneof![any::<Vec<u8>>(), receipt_like()]) {
        if let Some(r) = parse(&bytes) {
            prop_assert!(!r.id.is_empty());
            let fields = [Some(&r.id), r.submit_date.as_ref(), r.done_date.as_ref(), r.stat.as_ref(), r.err.as_ref()];
            for value in fields.into_iter().flatten() {
                prop_assert!(!value.is_empty());
                prop_assert!(!value.contains(|c: char| c.is_ascii_whitespace() || c == '\0'), "{value:?}");
            }
            prop_assert!(r.text.as_ref().is_none_or(|t| !t.is_empty() && t.len() <= MAX_RECEIPT_BYTES * 3));
        }
    }

    #[test]
    fn parse_never_panics_on_strings(s: String) {
        let _ = parse(s.as_bytes());
    }

    #[test]
    fn format_then_parse_round_trips(
        id in token(),
        sub: u32,
        dlvrd: u32,
        submit_date in "[0-9]{10}",
        done_date in "[0-9]{10}",
        stat in token(),
        err in token(),
        text in no_control_text(),
    ) {
        let r = Receipt {
            id,
            sub: Some(sub),
            dlvrd: Some(dlvrd),
            submit_date: Some(submit_date),
            done_date: Some(done_date),
            stat: Some(stat),
            err: Some(err),
            text: Some(text.clone()),
        };
        let parsed = parse(format(&r).as_bytes()).expect("formatted receipt parses");
        let shown: String = text.chars().take(20).collect();
        let expected = Receipt { text: (!shown.is_empty()).then_some(shown), ..r };
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn missing_optional_fields_stay_missing(id in token(), text in no_control_text()) {
        let r = Receipt { id: id.clone(), ..Receipt::default() };
        let parsed = parse(format(&r).as_bytes()).expect("formatted receipt parses");
        prop_assert_eq!(parsed, Receipt { id, sub: Some(1), dlvrd: Some(1), err: Some("000".into()), ..Receipt::default() });
        let with_text = Receipt { text: Some(text), ..r };
        let without_text = Receipt { text: None, ..with_text.clone() };
        let extra = format(&with_text).chars().count() - format(&without_text).chars().count();
        prop_assert!(extra <= 20, "text adds {} chars", extra);
    }

    #[test]
    fn state_tables_agree(state in state(), noise in "[ \t]{0,2}") {
        prop_assert_eq!(State::from_message_state(state.message_state()), Some(state));
        prop_assert_eq!(State::from_stat(&format!("{noise}{}{noise}", state.stat().to_ascii_lowercase())), state);
        prop_assert_eq!(state.is_final(), !matches!(state, State::Enroute | State::Accepted));
    }

    #[test]
    fn from_stat_never_panics(stat: String) {
        let _ = State::from_stat(&stat);
    }

    #[test]
    fn undefined_message_states_are_none(value in 9u8..) {
        prop_assert_eq!(State::from_message_state(value), None);
    }

    #[test]
    fn dates_are_ten_plausible_digits(millis: i64) {
        let d = date(millis);
        prop_assert_eq!(d.len(), 10);
        prop_assert!(d.bytes().all(|b| b.is_ascii_digit()));
        let field = |i: usize| d[i..i + 2].parse::<u32>().expect("digits");
        prop_assert!((1..=12).contains(&field(2)));
        prop_assert!((1..=31).contains(&field(4)));
        prop_assert!(field(6) < 24 && field(8) < 60);
    }

    #[test]
    fn dates_advance_by_the_minute(minutes in -60_000_000i64..60_000_000) {
        // Consecutive minutes differ, and a day later the time of day is the same.
        let millis = minutes * 60_000;
        prop_assert_ne!(date(millis), date(millis + 60_000));
        prop_assert_eq!(&date(millis)[6..], &date(millis + 86_400_000)[6..]);
    }
}
