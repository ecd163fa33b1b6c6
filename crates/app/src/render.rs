//! Rendering templates for a send: every token of a parsed template filled in per recipient,
//! with a short link minted per recipient and link (persisted before the send is stored, so a
//! recipient can never hold a link that leads nowhere). A preview renders the same way with
//! placeholder short links of the real length and stores nothing.

use std::collections::HashMap;

use rand::RngExt;
use textbird_store::{Link, ShortLink, ShortLinkKind};
use textbird_types::now_millis;

use crate::content::template_problem;
use crate::template::{self, Part};
use crate::{App, AppError, FieldError, Principal, Recipient};

/// Random base62 characters of a short-link code (about 60 bits).
pub const CODE_LEN: usize = 10;

/// What a rendered message looks like.
#[derive(Debug, Clone)]
pub struct Preview {
    pub body: String,
    pub encoding: &'static str,
    pub parts: u32,
}

/// A parsed template and everything it refers to, loaded once per send.
struct Content {
    parts: Vec<Part>,
    spinners: HashMap<String, Vec<String>>,
    links: HashMap<String, Link>,
    lists: HashMap<String, Vec<Link>>,
}

/// Makes the short URL for one link in one recipient's message.
trait Minter {
    fn mint(&mut self, kind: ShortLinkKind, link_id: Option<&str>, url: &str, recipient: usize) -> String;
}

/// Mints real codes and keeps the short links to store.
struct Minting<'a> {
    base: &'a str,
    account_id: &'a str,
    batch_id: &'a str,
    message_ids: &'a [String],
    phones: Vec<&'a str>,
    minted: Vec<ShortLink>,
    now: i64,
}

impl Minter for Minting<'_> {
    fn mint(&mut self, kind: ShortLinkKind, link_id: Option<&str>, url: &str, recipient: usize) -> String {
        let code = crate::secrets::random_alphanumeric(CODE_LEN);
        let short = format!("{}/l/{code}", self.base);
        self.minted.push(ShortLink {
            code,
            account_id: self.account_id.to_owned(),
            message_id: self.message_ids[recipient].clone(),
            batch_id: self.batch_id.to_owned(),
            phone: self.phones[recipient].to_owned(),
            kind,
            link_id: link_id.map(str::to_owned),
            url: url.to_owned(),
            created_at: self.now,
        });
        short
    }
}

/// Placeholder short links for previews.
struct Placeholder<'a>(&'a str);

impl Minter for Placeholder<'_> {
    fn mint(&mut self, _: ShortLinkKind, _: Option<&str>, _: &str, _: usize) -> String {
        format!("{}/l/{}", self.0, "x".repeat(CODE_LEN))
    }
}

fn render_one(content: &Content, r: &Recipient, index: usize, minter: &mut impl Minter) -> String {
    let mut rng = rand::rng();
    let mut out = String::new();
    for part in &content.parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Field(name) => out.push_str(template::field_value(r, name)),
            Part::Spinner(id) => {
                let words = &content.spinners[id];
                out.push_str(&words[rng.random_range(0..words.len())]);
            }
            Part::Link(id) => {
                let link = &content.links[id];
                out.push_str(&minter.mint(ShortLinkKind::Link, Some(&link.id), &link.url, index));
            }
            Part::LinkList(id) => {
                let links = &content.lists[id];
                let link = &links[index % links.len()];
                out.push_str(&minter.mint(ShortLinkKind::Link, Some(&link.id), &link.url, index));
            }
            Part::ShortenUrl => {
                if let Some(url) = r.url.as_deref().filter(|u| crate::content::check_redirect_url(u).is_ok()) {
                    out.push_str(&minter.mint(ShortLinkKind::Url, None, url, index));
                }
            }
            Part::Url(url) => out.push_str(&minter.mint(ShortLinkKind::Url, None, url, index)),
            Part::Unsubscribe => out.push_str(&minter.mint(ShortLinkKind::Unsubscribe, None, "", index)),
            Part::RandomSymbol => out.push(template::SYMBOLS[rng.random_range(0..template::SYMBOLS.len())]),
        }
    }
    out
}

impl App {
    /// Loads what `parts` refer to; a reference the account does not have (or an empty link
    /// list) is a validation error on `field` naming the token.
    pub(crate) async fn load_content_refs(
        &self,
        account_id: &str,
        parts: &[Part],
        field: &str,
    ) -> Result<(HashMap<String, Vec<String>>, HashMap<String, Link>, HashMap<String, Vec<Link>>), AppError> {
        let (spinner_ids, link_ids, list_ids) = template::references(parts);
        let mut problems = Vec::new();
        let mut spinners = HashMap::new();
        for id in spinner_ids {
            match self.store().find_spinner(account_id, id).await? {
                Some(s) => drop(spinners.insert(id.to_owned(), s.words)),
                None => {
                    problems.push(FieldError::new(field, format!("`{{{{word_spinner:{id}}}}}`: no such word spinner")));
                }
            }
        }
        let mut links = HashMap::new();
        for id in link_ids {
            match self.store().find_link(account_id, id).await? {
                Some(l) => drop(links.insert(id.to_owned(), l)),
                None => problems.push(FieldError::new(field, format!("`{{{{link:{id}}}}}`: no such link"))),
            }
        }
        let mut lists = HashMap::new();
        for id in list_ids {
            let found = self.store().find_link_list(account_id, id).await?.is_some();
            let members = if found { self.store().link_list_links(account_id, id).await? } else { Vec::new() };
            if members.is_empty() {
                let why = if found { "the link list has no links" } else { "no such link list" };
                problems.push(FieldError::new(field, format!("`{{{{link_list:{id}}}}}`: {why}")));
            } else {
                lists.insert(id.to_owned(), members);
            }
        }
        if problems.is_empty() { Ok((spinners, links, lists)) } else { Err(AppError::Validation(problems)) }
    }

    /// A field token must be a built-in one or a field some group of the account defines; a
    /// misspelt `{{frist_name}}` is an error naming it, not an empty gap in every message.
    async fn check_field_tokens(&self, account_id: &str, parts: &[Part], field: &str) -> Result<(), AppError> {
        let wanted: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Field(name) if !template::BUILT_IN_FIELDS.contains(&name.as_str()) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut defined = std::collections::HashSet::new();
        let mut page = textbird_store::Page { after: None, limit: 1000 };
        loop {
            let groups = self.store().list_groups(account_id, None, &page).await?;
            let full = groups.len() == page.limit as usize;
            page.after = groups.last().map(|g| g.id.clone());
            defined.extend(groups.into_iter().flat_map(|g| g.fields.into_iter().map(|f| f.name)));
            if !full {
                break;
            }
        }
        let problems: Vec<FieldError> = wanted
            .iter()
            .filter(|name| !defined.contains(**name))
            .map(|name| {
                FieldError::new(
                    field,
                    format!(
                        "`{{{{{name}}}}}` is not a token: neither a built-in field nor a field of any contact group"
                    ),
                )
            })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(AppError::Validation(problems)) }
    }

    pub(crate) async fn load_content(&self, account_id: &str, parts: &[Part], field: &str) -> Result<(), AppError> {
        self.load_content_refs(account_id, parts, field).await.map(|_| ())
    }

    async fn content(&self, account_id: &str, text: &str, field: &str) -> Result<Content, AppError> {
        let parts = template::parse(text).map_err(|e| AppError::Validation(vec![template_problem(field, &e)]))?;
        self.check_field_tokens(account_id, &parts, field).await?;
        let (spinners, links, lists) = self.load_content_refs(account_id, &parts, field).await?;
        Ok(Content { parts, spinners, links, lists })
    }

    /// One rendered body per recipient (in order); the short links minted for them are stored
    /// first, each tied to its message, batch, recipient and link. Fails, naming the token,
    /// when the text does not parse or refers to something the account does not have.
    pub async fn render_bodies(
        &self,
        p: &Principal,
        text: &str,
        recipients: &[Recipient],
        message_ids: &[String],
        batch_id: &str,
    ) -> Result<Vec<String>, AppError> {
        if message_ids.len() != recipients.len() {
            return Err(AppError::Internal("one message id per recipient".into()));
        }
        let content = self.content(&p.account_id, text, "body").await?;
        let mut minting = Minting {
            base: self.public_base(),
            account_id: &p.account_id,
            batch_id,
            message_ids,
            phones: recipients.iter().map(|r| r.phone.as_str()).collect(),
            minted: Vec::new(),
            now: now_millis(),
        };
        let bodies: Vec<String> =
            recipients.iter().enumerate().map(|(i, r)| render_one(&content, r, i, &mut minting)).collect();
        let max = self.settings().messages.max_body_chars;
        if let Some(i) = bodies.iter().position(|b| b.chars().count() > max) {
            return Err(AppError::field("body", format!("renders to more than {max} characters for recipient {i}")));
        }
        self.store().insert_short_links(&minting.minted).await?;
        Ok(bodies)
    }

    /// How `text` renders for `recipient`, with placeholder short links; stores nothing.
    pub async fn render_preview(&self, p: &Principal, text: &str, recipient: &Recipient) -> Result<Preview, AppError> {
        let content = self.content(&p.account_id, text, "body").await?;
        let body = render_one(&content, recipient, 0, &mut Placeholder(self.public_base()));
        let analysis = textbird_sms::analyze(&body);
        Ok(Preview { body, encoding: analysis.encoding.as_str(), parts: analysis.parts })
    }

    /// The text a send carries: its `body`, or its template's (`(text, whether to render)`).
    pub(crate) async fn send_text(
        &self,
        p: &Principal,
        body: String,
        template_id: Option<&str>,
        problems: &mut Vec<FieldError>,
    ) -> Result<(String, bool), AppError> {
        let Some(id) = template_id else {
            let render = template::has_tokens(&body);
            return Ok((body, render));
        };
        if !body.is_empty() {
            problems.push(FieldError::new("body", "give either body or template_id, not both"));
            return Ok((body, false));
        }
        let Some(t) = self.store().find_template(&p.account_id, id).await? else {
            problems.push(FieldError::new("template_id", "no such template"));
            return Ok((String::new(), false));
        };
        Ok((t.body, true))
    }

    /// The body of each message of a send: the text as is, or rendered per recipient.
    pub(crate) async fn personalise(
        &self,
        p: &Principal,
        text: &str,
        render: bool,
        recipients: &[Recipient],
        message_ids: &[String],
        batch_id: &str,
    ) -> Result<Vec<String>, AppError> {
        if !render {
            return Ok(vec![text.to_owned(); recipients.len()]);
        }
        self.render_bodies(p, text, recipients, message_ids, batch_id).await
    }
}
