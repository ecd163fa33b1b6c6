//! Record types of an account's message content: templates, word spinners, links, link lists,
//! triggers, and the short links and clicks that sends produce. Times are epoch ms.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Synonyms a message picks one of at random.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spinner {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub words: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub url: String,
    /// Where desktop browsers go instead of `url`.
    pub bot_redirect: Option<String>,
    /// Where link-preview bots go instead of `url`.
    pub preview_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Links spread over the recipients of a send (its members are kept apart, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkList {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A URL that, when opened, releases the messages waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// The secret part of the activation URL.
    pub token: String,
    pub fired_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a short link does when opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortLinkKind {
    /// Redirects to a stored link (`link_id`).
    Link,
    /// Redirects to a recipient's own URL.
    Url,
    /// Opts the recipient out.
    Unsubscribe,
}

impl ShortLinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShortLinkKind::Link => "link",
            ShortLinkKind::Url => "url",
            ShortLinkKind::Unsubscribe => "unsubscribe",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "link" => ShortLinkKind::Link,
            "unsubscribe" => ShortLinkKind::Unsubscribe,
            _ => ShortLinkKind::Url,
        }
    }
}

/// One recipient's copy of a link in one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLink {
    pub code: String,
    pub account_id: String,
    pub message_id: String,
    pub batch_id: String,
    pub phone: String,
    pub kind: ShortLinkKind,
    pub link_id: Option<String>,
    /// The target (empty for an unsubscription link).
    pub url: String,
    pub created_at: i64,
}

/// A short link as opened: where it goes, by kind of visitor.
#[derive(Debug, Clone)]
pub struct ShortLinkTarget {
    pub link: ShortLink,
    pub bot_redirect: Option<String>,
    pub preview_url: Option<String>,
}

/// A click to record; `counts_as_unique` is false for bots.
#[derive(Debug, Clone)]
pub struct NewClick {
    pub id: String,
    pub code: String,
    pub user_agent_class: &'static str,
    pub counts_as_unique: bool,
    pub at: i64,
}

/// Clicks on the short links of one link or one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkReport {
    /// Short links minted (one per recipient and link).
    pub recipients: i64,
    pub clicks: i64,
    pub unique_clicks: i64,
}

/// What a link report counts short links by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBy {
    /// Every short link of one stored link.
    Link,
    /// Every short link minted by one send.
    Batch,
}
