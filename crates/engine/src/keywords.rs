//! Opt-out and opt-in keywords in inbound messages: the whole message, trimmed and
//! case-insensitive. "STOP PLEASE" is not a keyword.

/// What an inbound message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
    Help,
}

impl Keyword {
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Stop => "stop",
            Keyword::Start => "start",
            Keyword::Help => "help",
        }
    }
}

const STOP: [&str; 8] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"];
const START: [&str; 3] = ["START", "UNSTOP", "YES"];

pub fn classify(body: &str) -> Option<Keyword> {
    let word = body.trim();
    if STOP.iter().any(|k| k.eq_ignore_ascii_case(word)) {
        Some(Keyword::Stop)
    } else if START.iter().any(|k| k.eq_ignore_ascii_case(word)) {
        Some(Keyword::Start)
    } else if word.eq_ignore_ascii_case("HELP") {
        Some(Keyword::Help)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_message_keywords_only() {
        for s in ["STOP", " stop ", "Unsubscribe", "optout\n", "QUIT"] {
            assert_eq!(classify(s), Some(Keyword::Stop), "{s:?}");
        }
        for s in ["start", "UNSTOP", "yes"] {
            assert_eq!(classify(s), Some(Keyword::Start), "{s:?}");
        }
        assert_eq!(classify("help"), Some(Keyword::Help));
        for s in ["STOP PLEASE", "please stop", "stopp", "", "yes!"] {
            assert_eq!(classify(s), None, "{s:?}");
        }
    }
}
