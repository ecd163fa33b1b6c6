//! 002's `scheduled` field: `yyyy/mm/dd hh:mm TZ`, as in `2016/06/26 10:00 GMT-5`.
//!
//! Accepted: `/` or `-` between the date's parts, optional seconds, and as the zone `GMT`,
//! `UTC`, `UT` or `Z`, an offset after one of them or alone (`GMT-5`, `GMT+5:30`, `UTC+0530`,
//! `-05:00`; `GMT-5` is five hours behind UTC, as people write it, not the POSIX reverse), an
//! IANA name (`Europe/Amsterdam`, `America/Costa_Rica`), or one of the few abbreviations the
//! vendor's customers use whose meaning is not in doubt (`EST EDT CST CDT MST MDT PST PDT`,
//! North American; `CET CEST`). Without a zone the time is the account's own zone's. An
//! unsigned offset (`GMT 5`, a form's unencoded `+` decoded as a space) is ahead of UTC.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};

/// Abbreviations read as fixed offsets (hours from UTC).
const ABBREVIATIONS: [(&str, i8); 10] = [
    ("EST", -5),
    ("EDT", -4),
    ("CST", -6),
    ("CDT", -5),
    ("MST", -7),
    ("MDT", -6),
    ("PST", -8),
    ("PDT", -7),
    ("CET", 1),
    ("CEST", 2),
];

/// The instant `text` names; `account_zone` (IANA) is used when it names no zone. The error
/// is a sentence for the client.
pub(super) fn parse(text: &str, account_zone: &str) -> Result<Timestamp, String> {
    let wrong = || format!("The scheduled field must be a date like `2016/06/26 10:00 GMT-5`, not {text:?}.");
    let mut words = text.split_whitespace();
    let (Some(date), Some(time)) = (words.next(), words.next()) else { return Err(wrong()) };
    let zone = words.collect::<Vec<_>>().join(" ");
    let local = DateTime::from_parts(date_of(date).ok_or_else(wrong)?, time_of(time).ok_or_else(wrong)?);
    let tz = if zone.is_empty() {
        TimeZone::get(account_zone).unwrap_or(TimeZone::UTC)
    } else {
        zone_of(&zone).ok_or_else(|| format!("The scheduled field names an unknown time zone: {zone:?}."))?
    };
    local.to_zoned(tz).map(|z| z.timestamp()).map_err(|_| wrong())
}

/// `yyyy/mm/dd` or `yyyy-mm-dd`.
fn date_of(s: &str) -> Option<Date> {
    let sep = if s.contains('/') { '/' } else { '-' };
    let mut parts = s.split(sep);
    let year = number(parts.next()?, 4, 4)?;
    let month = number(parts.next()?, 1, 2)?;
    let day = number(parts.next()?, 1, 2)?;
    if parts.next().is_some() {
        return None;
    }
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// `hh:mm` or `hh:mm:ss`.
fn time_of(s: &str) -> Option<Time> {
    let mut parts = s.split(':');
    let hour = number(parts.next()?, 1, 2)?;
    let minute = number(parts.next()?, 2, 2)?;
    let second = parts.next().map_or(Some(0), |s| number(s, 2, 2))?;
    if parts.next().is_some() {
        return None;
    }
    Time::new(i8::try_from(hour).ok()?, i8::try_from(minute).ok()?, i8::try_from(second).ok()?, 0).ok()
}

/// Digits only, `min..=max` of them.
fn number(s: &str, min: usize, max: usize) -> Option<i16> {
    ((min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn zone_of(zone: &str) -> Option<TimeZone> {
    let upper = zone.to_ascii_uppercase();
    let offset = ["GMT", "UTC", "UT", "Z"].iter().find_map(|name| upper.strip_prefix(name)).map(str::trim);
    // A `+` sent unencoded in a form arrives as a space: an unsigned offset is ahead of UTC.
    let signed = |rest: &str| if rest.starts_with(['+', '-']) { fixed(rest) } else { fixed(&format!("+{rest}")) };
    match offset {
        Some("") => return Some(TimeZone::UTC),
        Some(rest) => return signed(rest),
        None => {}
    }
    if upper.starts_with(['+', '-']) || upper.starts_with(|c: char| c.is_ascii_digit()) {
        return signed(&upper);
    }
    if let Some((_, hours)) = ABBREVIATIONS.iter().find(|(name, _)| *name == upper) {
        return Some(TimeZone::fixed(Offset::constant(*hours)));
    }
    TimeZone::get(zone).ok()
}

/// `+5`, `-05`, `+5:30`, `+0530`: hours (0 to 14) and minutes ahead of (`+`) or behind UTC.
fn fixed(s: &str) -> Option<TimeZone> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (number(h, 1, 2)?, number(m, 2, 2)?),
        None if rest.len() == 4 => (number(rest.get(..2)?, 2, 2)?, number(rest.get(2..)?, 2, 2)?),
        None => (number(rest, 1, 2)?, 0),
    };
    if hours > 14 || minutes > 59 {
        return None;
    }
    let seconds = sign * (i32::from(hours) * 3600 + i32::from(minutes) * 60);
    Offset::from_seconds(seconds).ok().map(TimeZone::fixed)
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn utc(text: &str) -> String {
        parse(text, "UTC").unwrap_or_else(|e| panic!("{text}: {e}")).to_string()
    }

    #[test]
    fn the_documents_example_is_five_hours_behind_utc() {
        assert_eq!(utc("2016/06/26 10:00 GMT-5"), "2016-06-26T15:00:00Z");
    }

    #[test]
    fn offsets_are_read_in_every_common_spelling() {
        for (text, want) in [
            ("2016/06/26 10:00 GMT", "2016-06-26T10:00:00Z"),
            ("2016/06/26 10:00 UTC", "2016-06-26T10:00:00Z"),
            ("2016/06/26 10:00 GMT+5:30", "2016-06-26T04:30:00Z"),
            ("2016/06/26 10:00 UTC+0530", "2016-06-26T04:30:00Z"),
            ("2016/06/26 10:00 GMT -05", "2016-06-26T15:00:00Z"),
            ("2016/06/26 10:00 -05:00", "2016-06-26T15:00:00Z"),
            ("2016-06-26 10:00:30 gmt+2", "2016-06-26T08:00:30Z"),
            ("2016/6/6 9:05 GMT-5", "2016-06-06T14:05:00Z"),
            ("2016/06/26 10:00 GMT 5", "2016-06-26T05:00:00Z"),
            ("2016/06/26 10:00 05:00", "2016-06-26T05:00:00Z"),
        ] {
            assert_eq!(utc(text), want, "{text}");
        }
    }

    #[test]
    fn named_zones_follow_their_daylight_saving_time() {
        assert_eq!(utc("2016/06/26 10:00 Europe/Amsterdam"), "2016-06-26T08:00:00Z");
        assert_eq!(utc("2016/12/26 10:00 Europe/Amsterdam"), "2016-12-26T09:00:00Z");
        assert_eq!(utc("2016/06/26 10:00 America/Costa_Rica"), "2016-06-26T16:00:00Z");
        assert_eq!(utc("2016/06/26 10:00 CST"), "2016-06-26T16:00:00Z");
        assert_eq!(utc("2016/06/26 10:00 CEST"), "2016-06-26T08:00:00Z");
    }

    #[test]
    fn without_a_zone_the_accounts_zone_is_used() {
        let t = parse("2016/06/26 10:00", "Europe/Amsterdam").unwrap();
        assert_eq!(t.to_string(), "2016-06-26T08:00:00Z");
    }

    #[test]
    fn nonsense_is_refused_with_a_sentence() {
        for text in [
            "",
            "tomorrow",
            "2016/06/26",
            "2016/13/01 10:00 GMT",
            "2016/02/30 10:00 GMT",
            "2016/06/26 25:00 GMT",
            "2016/06/26 10:0 GMT",
            "16/06/26 10:00 GMT",
            "2016/06/26 10:00 GMT+15",
            "2016/06/26 10:00 GMT+5:75",
            "2016/06/26 10:00 Mars/Olympus",
            "2016/06/26 10:00 GMT-5x",
        ] {
            let e = parse(text, "UTC").expect_err(text);
            assert!(e.starts_with("The scheduled field"), "{text}: {e}");
        }
    }
}
