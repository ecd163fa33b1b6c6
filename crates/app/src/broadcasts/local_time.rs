//! Recipient-local time: which time zones a recipient may be in, when a send time given as
//! a wall-clock time falls for them (`local_time`), and how quiet hours move a send time (a
//! message is deferred to the end of the quiet hours, never dropped). A number whose country
//! spans several zones is quiet while it is quiet in any of them.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use textbird_types::Msisdn;

use crate::Recipient;

/// Time zones of the countries whose numbers do not say more, by ISO 3166 code; a country
/// missing here takes the account's zone.
const COUNTRY_ZONES: &[(&str, &[&str])] = &[
    ("AE", &["Asia/Dubai"]),
    ("AR", &["America/Argentina/Buenos_Aires"]),
    ("AT", &["Europe/Vienna"]),
    ("AU", &["Australia/Sydney", "Australia/Adelaide", "Australia/Brisbane", "Australia/Perth"]),
    ("BE", &["Europe/Brussels"]),
    ("BG", &["Europe/Sofia"]),
    ("BR", &["America/Sao_Paulo", "America/Manaus", "America/Noronha", "America/Rio_Branco"]),
    ("CA", &["America/Toronto", "America/Winnipeg", "America/Edmonton", "America/Vancouver", "America/Halifax"]),
    ("CH", &["Europe/Zurich"]),
    ("CN", &["Asia/Shanghai"]),
    ("CZ", &["Europe/Prague"]),
    ("DE", &["Europe/Berlin"]),
    ("DK", &["Europe/Copenhagen"]),
    ("EG", &["Africa/Cairo"]),
    ("ES", &["Europe/Madrid", "Atlantic/Canary"]),
    ("FI", &["Europe/Helsinki"]),
    ("FR", &["Europe/Paris"]),
    ("GB", &["Europe/London"]),
    ("GR", &["Europe/Athens"]),
    ("HK", &["Asia/Hong_Kong"]),
    ("HU", &["Europe/Budapest"]),
    ("ID", &["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]),
    ("IE", &["Europe/Dublin"]),
    ("IL", &["Asia/Jerusalem"]),
    ("IN", &["Asia/Kolkata"]),
    ("IT", &["Europe/Rome"]),
    ("JP", &["Asia/Tokyo"]),
    ("KE", &["Africa/Nairobi"]),
    ("KR", &["Asia/Seoul"]),
    ("LU", &["Europe/Luxembourg"]),
    ("MA", &["Africa/Casablanca"]),
    ("MX", &["America/Mexico_City", "America/Cancun", "America/Chihuahua", "America/Tijuana"]),
    ("MY", &["Asia/Kuala_Lumpur"]),
    ("NG", &["Africa/Lagos"]),
    ("NL", &["Europe/Amsterdam"]),
    ("NO", &["Europe/Oslo"]),
    ("NZ", &["Pacific/Auckland"]),
    ("PH", &["Asia/Manila"]),
    ("PK", &["Asia/Karachi"]),
    ("PL", &["Europe/Warsaw"]),
    ("PT", &["Europe/Lisbon", "Atlantic/Azores"]),
    ("RO", &["Europe/Bucharest"]),
    ("RU", &["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"]),
    ("SA", &["Asia/Riyadh"]),
    ("SE", &["Europe/Stockholm"]),
    ("SG", &["Asia/Singapore"]),
    ("TH", &["Asia/Bangkok"]),
    ("TR", &["Europe/Istanbul"]),
    ("UA", &["Europe/Kyiv"]),
    ("US", &["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]),
    ("VN", &["Asia/Ho_Chi_Minh"]),
    ("ZA", &["Africa/Johannesburg"]),
];

/// The zones a recipient may be in: the `timezone` field of its contact or list data if it
/// names one, else its country's, else the account's.
pub(crate) fn zones_of(to: &Msisdn, data: &Recipient, account_zone: &str) -> Vec<TimeZone> {
    if let Some(tz) = data.fields.get("timezone").and_then(|name| TimeZone::get(name.trim()).ok()) {
        return vec![tz];
    }
    let country = super::country_of(to);
    if let Some((_, names)) = COUNTRY_ZONES.iter().find(|(c, _)| *c == country) {
        let zones: Vec<TimeZone> = names.iter().filter_map(|n| TimeZone::get(n).ok()).collect();
        if !zones.is_empty() {
            return zones;
        }
    }
    vec![TimeZone::get(account_zone).unwrap_or(TimeZone::UTC)]
}

/// The wall-clock time a send time was written in (`2026-05-01T09:00:00+02:00` is 09:00 on
/// 1 May), for sending at that time in each recipient's own zone.
pub(crate) fn wall_clock(send_at: &str) -> Option<DateTime> {
    send_at.get(..19)?.parse().ok()
}

/// When `wall` comes in every one of `zones` (the latest of them), in epoch ms.
pub(crate) fn local_instant(wall: DateTime, zones: &[TimeZone]) -> Option<i64> {
    zones.iter().filter_map(|z| wall.to_zoned(z.clone()).ok()).map(|z| z.timestamp().as_millisecond()).max()
}

/// Quiet hours as minutes after midnight (`start` inclusive, `end` exclusive; a window that
/// crosses midnight has `start > end`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quiet {
    pub start: u32,
    pub end: u32,
}

impl Quiet {
    fn contains(self, minute: u32) -> bool {
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Less => (self.start..self.end).contains(&minute),
            std::cmp::Ordering::Greater => minute >= self.start || minute < self.end,
            std::cmp::Ordering::Equal => false,
        }
    }
}

/// The first moment at or after `at` (epoch ms) outside the quiet hours in every zone.
pub(crate) fn defer(at: i64, zones: &[TimeZone], quiet: Quiet) -> i64 {
    let mut at = at;
    // Moving past one zone's quiet hours can land in another's; a few passes settle it (and a
    // set of zones with no common open time keeps the last answer rather than looping).
    for _ in 0..4 {
        let mut moved = false;
        for zone in zones {
            let Ok(ts) = Timestamp::from_millisecond(at) else {
                return at;
            };
            let local = ts.to_zoned(zone.clone());
            let minute = local.hour() as u32 * 60 + local.minute() as u32;
            if !quiet.contains(minute) {
                continue;
            }
            let end = local.date().at((quiet.end / 60) as i8, (quiet.end % 60) as i8, 0, 0);
            let mut next = end.to_zoned(zone.clone()).map_or(at, |z| z.timestamp().as_millisecond());
            if next <= at {
                next = end
                    .date()
                    .tomorrow()
                    .ok()
                    .and_then(|d| {
                        d.at((quiet.end / 60) as i8, (quiet.end % 60) as i8, 0, 0).to_zoned(zone.clone()).ok()
                    })
                    .map_or(at, |z| z.timestamp().as_millisecond());
            }
            if next > at {
                at = next;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn a_time_in_quiet_hours_moves_to_their_end_in_the_recipients_zone() {
        let ams = [TimeZone::get("Europe/Amsterdam").unwrap()];
        let quiet = Quiet { start: 21 * 60, end: 8 * 60 };
        // 23:30 in Amsterdam (UTC+1 in December) goes at 08:00 the next morning.
        assert_eq!(defer(ms("2026-12-02T22:30:00Z"), &ams, quiet), ms("2026-12-03T07:00:00Z"));
        // 02:00 goes at 08:00 the same day.
        assert_eq!(defer(ms("2026-12-03T01:00:00Z"), &ams, quiet), ms("2026-12-03T07:00:00Z"));
        // Noon is not quiet.
        assert_eq!(defer(ms("2026-12-03T11:00:00Z"), &ams, quiet), ms("2026-12-03T11:00:00Z"));
    }

    #[test]
    fn a_number_spanning_zones_waits_until_it_is_open_in_all() {
        let us: Vec<TimeZone> =
            ["America/New_York", "America/Los_Angeles"].iter().map(|z| TimeZone::get(z).unwrap()).collect();
        let quiet = Quiet { start: 21 * 60, end: 8 * 60 };
        // 13:00 UTC is 08:00 in New York but 05:00 in Los Angeles: it waits for 08:00 there.
        assert_eq!(defer(ms("2026-12-02T13:00:00Z"), &us, quiet), ms("2026-12-02T16:00:00Z"));
    }

    #[test]
    fn a_wall_clock_time_is_sent_at_that_time_in_each_zone() {
        let wall = wall_clock("2026-12-03T09:00:00+05:00").unwrap();
        let ams = [TimeZone::get("Europe/Amsterdam").unwrap()];
        assert_eq!(local_instant(wall, &ams), Some(ms("2026-12-03T08:00:00Z")));
        let nl = Msisdn::from_trusted("+31612345678".into());
        let zones = zones_of(&nl, &Recipient::phone("+31612345678"), "UTC");
        assert_eq!(zones.len(), 1);
        let mut tokyo = Recipient::phone("+31612345678");
        tokyo.fields.insert("timezone".into(), "Asia/Tokyo".into());
        assert_eq!(local_instant(wall, &zones_of(&nl, &tokyo, "UTC")), Some(ms("2026-12-03T00:00:00Z")));
    }
}
