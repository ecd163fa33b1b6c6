//! Opening a short link: the click is recorded (with its `link.clicked` webhooks) and the
//! visitor is sent on, by kind of visitor: link-preview bots to a link's `preview_url`,
//! desktop browsers to its `bot_redirect`, everyone else to its URL. An unsubscription link
//! opts its recipient out instead. No credentials: the code is the secret.

use textbird_store::{NewClick, ShortLinkKind};
use textbird_types::{new_id, now_millis};

use crate::render::CODE_LEN;
use crate::{App, AppError};

/// Substrings (lowercase) of the user agents of link-preview bots and crawlers.
const BOTS: &[&str] = &[
    "facebookexternalhit",
    "twitterbot",
    "slackbot",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "googlebot",
    "bingbot",
    "bot",
    "crawler",
    "spider",
];

/// `bot`, `desktop` or `mobile`.
pub fn user_agent_class(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    if BOTS.iter().any(|b| ua.contains(b)) {
        "bot"
    } else if ["windows nt", "macintosh", "x11"].iter().any(|d| ua.contains(d)) && !ua.contains("mobile") {
        "desktop"
    } else {
        "mobile"
    }
}

/// What opening a short link does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Go on to this URL.
    Redirect(String),
    /// The recipient is opted out of the account's messages.
    Unsubscribed,
}

impl App {
    /// Records a click on `code` and says where the visitor goes; `NotFound` for a code that
    /// was never minted.
    pub async fn open_short_link(&self, code: &str, user_agent: &str) -> Result<Opened, AppError> {
        if code.len() != CODE_LEN || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AppError::NotFound("link"));
        }
        let class = user_agent_class(user_agent);
        let click = NewClick {
            id: new_id(),
            code: code.to_owned(),
            user_agent_class: class,
            counts_as_unique: class != "bot",
            at: now_millis(),
        };
        let (target, _) = self.store().record_click(&click).await?.ok_or(AppError::NotFound("link"))?;
        let link = target.link;
        let url = match (link.kind, class) {
            (ShortLinkKind::Unsubscribe, _) => {
                // A preview bot fetching the link must not opt the recipient out.
                if class != "bot" {
                    self.store().set_opt_out(&link.account_id, &link.phone, "", true).await?;
                }
                return Ok(Opened::Unsubscribed);
            }
            (ShortLinkKind::Link, "bot") => target.preview_url.unwrap_or(link.url),
            (ShortLinkKind::Link, "desktop") => target.bot_redirect.unwrap_or(link.url),
            _ => link.url,
        };
        Ok(Opened::Redirect(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_classified() {
        let cases = [
            ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "bot"),
            ("WhatsApp/2.23.20.0 A", "bot"),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
            ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "bot"),
            ("TelegramBot (like TwitterBot)", "bot"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", "desktop"),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
                "desktop",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "desktop"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1", "mobile"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Mobile Safari/537.36", "mobile"),
            ("", "mobile"),
        ];
        for (ua, class) in cases {
            assert_eq!(user_agent_class(ua), class, "{ua}");
        }
    }
}
