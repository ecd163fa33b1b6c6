//! SMPP 3.4 time fields (§7.1.1), as in `schedule_delivery_time` and `validity_period`:
//! absolute `YYMMDDhhmmsstnnp` (`t` tenths of a second, `nn` quarter hours from UTC, `p` `+`
//! or `-`) and relative `YYMMDDhhmmss000R`. An empty field means "not given".
//!
//! Relative years count 365 days and relative months 30 days, so a relative time is a plain
//! number of seconds whatever the calendar.

/// Why a time field could not be read; answered with `ESME_RINVSCHED` or `ESME_RINVEXPIRY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SMPP time {value:?}: {detail}")]
pub struct TimeError {
    pub value: String,
    pub detail: &'static str,
}

/// A time field, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmppTime {
    /// Seconds since the Unix epoch (UTC); tenths of a second are dropped.
    Absolute(i64),
    /// Seconds from now.
    Relative(i64),
}

impl SmppTime {
    /// The time as seconds since the Unix epoch, a relative one counted from `now`.
    pub fn at(self, now: i64) -> i64 {
        match self {
            SmppTime::Absolute(t) => t,
            SmppTime::Relative(d) => now + d,
        }
    }
}

/// Reads a time field; `Ok(None)` when it is empty.
pub fn parse(value: &str) -> Result<Option<SmppTime>, TimeError> {
    let fail = |detail| TimeError { value: value.to_owned(), detail };
    if value.is_empty() {
        return Ok(None);
    }
    let b = value.as_bytes();
    if b.len() != 16 {
        return Err(fail("must be 16 characters"));
    }
    if !b[..15].iter().all(u8::is_ascii_digit) {
        return Err(fail("the first 15 characters must be digits"));
    }
    let n = |i: usize| i64::from(b[i] - b'0') * 10 + i64::from(b[i + 1] - b'0');
    let (yy, mo, dd, hh, mi, ss) = (n(0), n(2), n(4), n(6), n(8), n(10));
    let quarters = n(13);
    match b[15] {
        b'R' => {
            if hh > 23 || mi > 59 || ss > 59 {
                return Err(fail("hours, minutes or seconds out of range"));
            }
            let secs = ((yy * 365 + mo * 30 + dd) * 24 + hh) * 3600 + mi * 60 + ss;
            Ok(Some(SmppTime::Relative(secs)))
        }
        sign @ (b'+' | b'-') => {
            if !(1..=12).contains(&mo) || dd < 1 || dd > days_in_month(2000 + yy, mo) {
                return Err(fail("month or day out of range"));
            }
            if hh > 23 || mi > 59 || ss > 59 {
                return Err(fail("hours, minutes or seconds out of range"));
            }
            if quarters > 48 {
                return Err(fail("the UTC offset must be at most 48 quarter hours"));
            }
            let local = days_from_civil(2000 + yy, mo, dd) * 86_400 + hh * 3600 + mi * 60 + ss;
            let offset = quarters * 15 * 60;
            // Local time is ahead of UTC by the offset for `+`, behind it for `-`.
            let utc = if sign == b'+' { local - offset } else { local + offset };
            Ok(Some(SmppTime::Absolute(utc)))
        }
        _ => Err(fail("must end with '+', '-' or 'R'")),
    }
}

/// `secs` since the Unix epoch as an RFC 3339 UTC timestamp (`2026-12-02T16:00:00Z`).
pub fn to_rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `secs` since the Unix epoch as an absolute SMPP time in UTC (`YYMMDDhhmmss000+`).
pub fn to_smpp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{:02}{m:02}{d:02}{:02}{:02}{:02}000+", y.rem_euclid(100), rem / 3600, rem % 3600 / 60, rem % 60)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-02T16:00:00Z
    const T: i64 = 1_796_227_200;

    #[test]
    fn empty_is_not_given() {
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn absolute_utc() {
        assert_eq!(to_rfc3339(T), "2026-12-02T16:00:00Z");
        assert_eq!(parse("261202160000000+"), Ok(Some(SmppTime::Absolute(T))));
        assert_eq!(parse("261202160000500-"), Ok(Some(SmppTime::Absolute(T))));
    }

    #[test]
    fn absolute_with_offset() {
        // 18:00 at UTC+2 (8 quarter hours) is 16:00 UTC; 11:00 at UTC-5 (20) is too.
        assert_eq!(parse("261202180000008+"), Ok(Some(SmppTime::Absolute(T))));
        assert_eq!(parse("261202110000020-"), Ok(Some(SmppTime::Absolute(T))));
        // 00:30 on the 3rd at UTC+8:45 (35 quarter hours) is 15:45 UTC on the 2nd.
        assert_eq!(parse("261203003000035+"), Ok(Some(SmppTime::Absolute(T - 15 * 60))));
    }

    #[test]
    fn relative() {
        assert_eq!(parse("000000000500000R"), Ok(Some(SmppTime::Relative(300))));
        assert_eq!(parse("000001020304000R"), Ok(Some(SmppTime::Relative(86_400 + 2 * 3600 + 3 * 60 + 4))));
        assert_eq!(parse("010200000000000R"), Ok(Some(SmppTime::Relative((365 + 60) * 86_400))));
        assert_eq!(SmppTime::Relative(300).at(T), T + 300);
        assert_eq!(SmppTime::Absolute(T).at(0), T);
    }

    #[test]
    fn leap_day() {
        assert!(parse("280229000000000+").is_ok());
        assert!(parse("270229000000000+").is_err());
    }

    #[test]
    fn malformed_refused() {
        for bad in [
            "26120216000000+",
            "2612021600000000+",
            "26120216000000a+",
            "261202160000000Z",
            "261302160000000+",
            "261200160000000+",
            "261231240000000+",
            "261202166000000+",
            "261202160000049+",
            "000000006000000R",
            "２６１２０２",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn round_trips() {
        for t in [T, T + 59, 951_782_400 /* 2000-02-29 */, 4_102_444_799 /* 2099-12-31T23:59:59 */] {
            assert_eq!(parse(&to_smpp(t)), Ok(Some(SmppTime::Absolute(t))), "{t}");
        }
    }
}
