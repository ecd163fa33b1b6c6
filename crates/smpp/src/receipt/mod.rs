//! Delivery receipt text, as carried in the `short_message` of a `deliver_sm` whose
//! `esm_class` marks it as an SMSC delivery receipt.
//!
//! SMPP 3.4 Appendix B says the format "is SMSC vendor specific" and gives only "a typical
//! example", which carriers follow loosely (other key spellings, 12-digit dates, ...):
//!
//! ```text
//! id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text: . . . . . . . . .
//! ```
//!
//! [`parse`] therefore reads it leniently, and [`format()`] writes it exactly as above for the
//! receipts Textbird itself sends to its SMPP customers. [`State`] maps both the `stat:`
//! word and the `message_state` TLV (SMPP 3.4 §5.2.28) to one set of states.

/// How much of a receipt's bytes [`parse`] looks at. Real receipts are 100-200 octets
/// (a `short_message` holds at most 254); this also bounds one in `message_payload`.
pub const MAX_RECEIPT_BYTES: usize = 1_000;

/// How many characters of the original message `format` quotes in `text:`, as in Appendix B.
pub const TEXT_CHARS: usize = 20;

/// The fields of a delivery receipt. Everything but `id` may be missing; values are kept as
/// the carrier wrote them (see [`crate::ids`] for comparing ids).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// `id:` — "the message ID allocated to the message by the SMSC when originally submitted".
    pub id: String,
    /// `sub:` — "number of short messages originally submitted".
    pub sub: Option<u32>,
    /// `dlvrd:` — "number of short messages delivered".
    pub dlvrd: Option<u32>,
    /// `submit date:` — "the time and date at which the short message was submitted", `YYMMDDhhmm`.
    pub submit_date: Option<String>,
    /// `done date:` — "the time and date at which the short message reached it's final state".
    pub done_date: Option<String>,
    /// `stat:` — "the final status of the message"; see [`State::from_stat`].
    pub stat: Option<String>,
    /// `err:` — "network specific error code or an SMSC error code".
    pub err: Option<String>,
    /// `text:` — "the first 20 characters of the short message".
    pub text: Option<String>,
}

/// A message state, shared by the receipt `stat:` word and the `message_state` TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// "The message is in enroute state."
    Enroute,
    /// "Message is delivered to destination."
    Delivered,
    /// "Message validity period has expired."
    Expired,
    /// "Message has been deleted."
    Deleted,
    /// "Message is undeliverable."
    Undeliverable,
    /// "Message is in accepted state (i.e. has been manually read on behalf of the subscriber
    /// by customer service)."
    Accepted,
    /// "Message is in invalid state."
    Unknown,
    /// "Message is in a rejected state."
    Rejected,
}

impl State {
    /// Reads a receipt's `stat:` value, case-insensitively and trimmed. Both the 7-letter
    /// Appendix B words and the spelled-out forms some carriers use are accepted; anything
    /// unrecognised is [`State::Unknown`].
    pub fn from_stat(stat: &str) -> State {
        let stat = stat.trim().to_ascii_uppercase();
        match stat.as_str() {
            "DELIVRD" | "DELIVERED" => State::Delivered,
            "UNDELIV" | "UNDELIVERABLE" | "UNDELIVERED" => State::Undeliverable,
            "EXPIRED" => State::Expired,
            "REJECTD" | "REJECTED" => State::Rejected,
            "DELETED" => State::Deleted,
            "ENROUTE" => State::Enroute,
            "ACCEPTD" | "ACCEPTED" => State::Accepted,
            _ => State::Unknown,
        }
    }

    /// Reads a `message_state` value (SMPP 3.4 §5.2.28); `None` for values the spec does not
    /// define.
    pub fn from_message_state(value: u8) -> Option<State> {
        Some(match value {
            1 => State::Enroute,
            2 => State::Delivered,
            3 => State::Expired,
            4 => State::Deleted,
            5 => State::Undeliverable,
            6 => State::Accepted,
            7 => State::Unknown,
            8 => State::Rejected,
            _ => return None,
        })
    }

    /// The `message_state` value (SMPP 3.4 §5.2.28).
    pub fn message_state(self) -> u8 {
        match self {
            State::Enroute => 1,
            State::Delivered => 2,
            State::Expired => 3,
            State::Deleted => 4,
            State::Undeliverable => 5,
            State::Accepted => 6,
            State::Unknown => 7,
            State::Rejected => 8,
        }
    }

    /// The 7-letter `stat:` word of Appendix B.
    pub fn stat(self) -> &'static str {
        match self {
            State::Enroute => "ENROUTE",
            State::Delivered => "DELIVRD",
            State::Expired => "EXPIRED",
            State::Deleted => "DELETED",
            State::Undeliverable => "UNDELIV",
            State::Accepted => "ACCEPTD",
            State::Unknown => "UNKNOWN",
            State::Rejected => "REJECTD",
        }
    }

    /// Whether no later receipt can change this state: everything but `Enroute` and
    /// `Accepted`. (Appendix B lists `UNKNOWN` as a final state too.)
    pub fn is_final(self) -> bool {
        !matches!(self, State::Enroute | State::Accepted)
    }
}

/// Parses receipt text, leniently, as carriers vary.
///
/// Only the first [`MAX_RECEIPT_BYTES`] bytes are read; invalid UTF-8 is replaced. Keys
/// are case-insensitive and may come in any order, with extra whitespace around them and
/// before the colon; `submit date`, `submit_date` and `submitdate` (and the same for `done`)
/// are all accepted; unknown fields and stray words are skipped; when a key repeats, the
/// first value wins. A value ends at whitespace (or NUL), except `text:`, which takes the
/// rest of the input verbatim (only trailing control characters, such as a C-string NUL,
/// are dropped). An empty value, or a `sub`/`dlvrd` that is not a `u32`, is `None`.
///
/// Returns `None` when there is no `id:` or it is empty.
pub fn parse(bytes: &[u8]) -> Option<Receipt> {
    let bytes = &bytes[..bytes.len().min(MAX_RECEIPT_BYTES)];
    let input = String::from_utf8_lossy(bytes);
    let mut scanner = Scanner { s: &input, pos: 0 };
    let mut id = None;
    let mut receipt = Receipt::default();

    loop {
        scanner.skip_blank();
        if scanner.at_end() {
            break;
        }
        let start = scanner.pos;
        let Some(key) = scanner.key() else {
            scanner.pos = start;
            scanner.skip_word();
            continue;
        };
        if key == Key::Text {
            let text = scanner.rest().trim_end_matches(char::is_control);
            receipt.text = non_empty(text);
            break;
        }
        let value = scanner.value();
        let slot = match key {
            Key::Id => &mut id,
            Key::SubmitDate => &mut receipt.submit_date,
            Key::DoneDate => &mut receipt.done_date,
            Key::Stat => &mut receipt.stat,
            Key::Err => &mut receipt.err,
            Key::Sub => {
                receipt.sub = receipt.sub.or_else(|| value.parse().ok());
                continue;
            }
            Key::Dlvrd => {
                receipt.dlvrd = receipt.dlvrd.or_else(|| value.parse().ok());
                continue;
            }
            Key::Text | Key::Other => continue,
        };
        if slot.is_none() {
            *slot = non_empty(value);
        }
    }

    receipt.id = id?;
    Some(receipt)
}

/// Writes a receipt exactly as Appendix B shows it:
/// `id:{id} sub:{sub:03} dlvrd:{dlvrd:03} submit date:{submit_date} done date:{done_date}
/// stat:{stat} err:{err} text:{text}`.
///
/// Missing `sub` and `dlvrd` are written as `001` (a caller reporting an undelivered message
/// sets `dlvrd` to `Some(0)`), a missing `err` as `000`, missing dates, `stat` and `text` as
/// nothing. `text` is cut to its first [`TEXT_CHARS`] characters. Values must not contain
/// whitespace (except `text`) or [`parse`] will not read them back.
pub fn format(r: &Receipt) -> String {
    let text = r.text.as_deref().unwrap_or("");
    let text = text.char_indices().nth(TEXT_CHARS).map_or(text, |(end, _)| &text[..end]);
    format!(
        "id:{} sub:{:03} dlvrd:{:03} submit date:{} done date:{} stat:{} err:{} text:{}",
        r.id,
        r.sub.unwrap_or(1),
        r.dlvrd.unwrap_or(1),
        r.submit_date.as_deref().unwrap_or(""),
        r.done_date.as_deref().unwrap_or(""),
        r.stat.as_deref().unwrap_or(""),
        r.err.as_deref().unwrap_or("000"),
        text,
    )
}

/// Formats a Unix time in milliseconds as a receipt date, `YYMMDDhhmm` in UTC.
///
/// Works for every `i64` (the proleptic Gregorian calendar, year modulo 100), so a
/// corrupt timestamp can never panic the receipt writer.
pub fn date(epoch_millis: i64) -> String {
    let seconds = epoch_millis.div_euclid(1_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{:02}{month:02}{day:02}{:02}{:02}",
        year.rem_euclid(100),
        second_of_day / 3_600,
        second_of_day % 3_600 / 60,
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// The receipt fields [`parse`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Sub,
    Dlvrd,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Text,
    Other,
}

/// A cursor over receipt text. Every position it stops at is either the end or next to an
/// ASCII delimiter, so slicing the `str` there is always on a char boundary.
struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_blank(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    /// Advances over a run of non-blank bytes other than `:`, returning it.
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_blank(b) && b != b':') {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// Advances past a run of non-blank bytes, at least one.
    fn skip_word(&mut self) {
        self.pos += 1;
        while self.peek().is_some_and(|b| !is_blank(b)) {
            self.pos += 1;
        }
    }

    /// Reads `key:` (the key possibly two words, as in `submit date`) and stops after the
    /// colon; `None`, with the position unspecified, when no colon follows the key.
    fn key(&mut self) -> Option<Key> {
        let word = self.word();
        let key = match word.to_ascii_lowercase().as_str() {
            "id" => Key::Id,
            "sub" => Key::Sub,
            "dlvrd" => Key::Dlvrd,
            "submit_date" | "submitdate" => Key::SubmitDate,
            "done_date" | "donedate" => Key::DoneDate,
            "submit" if self.date_follows() => Key::SubmitDate,
            "done" if self.date_follows() => Key::DoneDate,
            "stat" => Key::Stat,
            "err" => Key::Err,
            "text" => Key::Text,
            _ => Key::Other,
        };
        self.skip_blank();
        if self.peek() != Some(b':') {
            return None;
        }
        self.pos += 1;
        Some(key)
    }

    /// After `submit` or `done`: consumes a following `date` word if there is one.
    fn date_follows(&mut self) -> bool {
        let after_first_word = self.pos;
        self.skip_blank();
        if self.word().eq_ignore_ascii_case("date") {
            return true;
        }
        self.pos = after_first_word;
        false
    }

    /// Reads the value after a key's colon: the next run of non-blank bytes, which may be
    /// preceded by blanks unless that run is itself the next key (`stat: err:000` has an
    /// empty `stat`).
    fn value(&mut self) -> &'a str {
        if self.peek().is_some_and(is_blank) {
            let after_colon = self.pos;
            self.skip_blank();
            let candidate = self.pos;
            let next_is_key = self.key().is_some();
            if next_is_key {
                self.pos = after_colon;
                return "";
            }
            self.pos = candidate;
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_blank(b)) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
}

/// Separators between receipt fields: ASCII whitespace and the C-string NUL.
fn is_blank(b: u8) -> bool {
    b.is_ascii_whitespace() || b == 0
}

#[cfg(test)]
mod tests;
