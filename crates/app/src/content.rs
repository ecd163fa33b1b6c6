//! An account's message content: templates, word spinners, links and link lists (triggers
//! are in `triggers.rs`).
//! Each is created, read, listed (by name, with a cursor), changed and deleted here; what a
//! template refers to must exist when it is saved, and is checked again at every send.

use textbird_store::{Link, LinkList, LinkReport, ReportBy, Spinner, Template, Trigger};
use textbird_types::{new_id, now_millis};

use crate::messages::{next_cursor, page};
use crate::template::{self, TemplateError};
use crate::{App, AppError, FieldError, Principal};

const MAX_NAME: usize = 100;
const MAX_WORDS: usize = 100;
const MAX_WORD: usize = 160;
const MAX_URL: usize = 2048;
/// Links in one link list.
pub const MAX_LIST_LINKS: usize = 1000;
/// Largest link-list CSV file.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;

/// Which records of a kind to list.
#[derive(Debug, Clone, Default)]
pub struct ContentQuery {
    /// Keeps those whose name contains this (ignoring ASCII case).
    pub name: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One page of records and the cursor of the next.
#[derive(Debug)]
pub struct ContentPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A link as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct LinkInput {
    pub name: String,
    pub url: String,
    pub bot_redirect: Option<String>,
    pub preview_url: Option<String>,
}

/// A link list with its links, in order.
#[derive(Debug, Clone)]
pub struct LinkListWithLinks {
    pub list: LinkList,
    pub links: Vec<Link>,
}

/// The links to put in a list: existing ones by id, new ones to create.
#[derive(Debug, Clone, Default)]
pub struct LinkListAddition {
    pub link_ids: Vec<String>,
    pub links: Vec<LinkInput>,
}

pub(crate) fn check_name(name: &str, problems: &mut Vec<FieldError>) {
    let len = name.trim().chars().count();
    if len == 0 || len > MAX_NAME {
        problems.push(FieldError::new("name", format!("must be 1 to {MAX_NAME} characters")));
    }
}

/// An absolute http(s) URL of at most 2048 characters (a redirect target, not a webhook
/// target: private addresses are the recipient's business).
pub(crate) fn check_redirect_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err("must be an absolute http or https URL".into()),
    }
}

pub(crate) fn validated(problems: Vec<FieldError>) -> Result<(), AppError> {
    if problems.is_empty() { Ok(()) } else { Err(AppError::Validation(problems)) }
}

/// The field error for a template that does not parse.
pub(crate) fn template_problem(field: &str, e: &TemplateError) -> FieldError {
    FieldError::new(field, e.to_string())
}

/// Reads, lists and deletes of one kind of record.
macro_rules! reads {
    ($t:ty, $what:literal, $get:ident, $list:ident, $delete:ident, $sfind:ident, $slist:ident, $sdelete:ident) => {
        impl App {
            pub async fn $get(&self, p: &Principal, id: &str) -> Result<$t, AppError> {
                self.store().$sfind(&p.account_id, id).await?.ok_or(AppError::NotFound($what))
            }

            pub async fn $list(&self, p: &Principal, q: ContentQuery) -> Result<ContentPage<$t>, AppError> {
                let page = page(q.cursor, q.limit)?;
                let items = self.store().$slist(&p.account_id, q.name.as_deref(), &page).await?;
                let next_cursor = next_cursor(&items, &page, |i| &i.id);
                Ok(ContentPage { items, next_cursor })
            }

            pub async fn $delete(&self, p: &Principal, id: &str) -> Result<(), AppError> {
                if self.store().$sdelete(&p.account_id, id).await? { Ok(()) } else { Err(AppError::NotFound($what)) }
            }
        }
    };
}

reads!(Template, "template", template, templates, delete_template, find_template, list_templates, delete_template);
reads!(Spinner, "word spinner", spinner, spinners, delete_spinner, find_spinner, list_spinners, delete_spinner);
reads!(Link, "link", link, links, delete_link, find_link, list_links, delete_link);
reads!(
    LinkList,
    "link list",
    link_list_record,
    link_lists,
    delete_link_list,
    find_link_list,
    list_link_lists,
    delete_link_list
);
reads!(Trigger, "trigger", trigger, triggers, delete_trigger, find_trigger, list_triggers, delete_trigger);

impl App {
    // ----- templates -----

    /// Checks a template body: its syntax, and that what it refers to is the account's.
    async fn check_template_body(
        &self,
        p: &Principal,
        body: &str,
        problems: &mut Vec<FieldError>,
    ) -> Result<(), AppError> {
        let max = self.settings().messages.max_body_chars;
        if body.is_empty() || body.chars().count() > max {
            problems.push(FieldError::new("body", format!("must be 1 to {max} characters")));
            return Ok(());
        }
        match template::parse(body) {
            Err(e) => problems.push(template_problem("body", &e)),
            Ok(parts) => {
                if let Err(AppError::Validation(mut more)) = self.load_content(&p.account_id, &parts, "body").await {
                    problems.append(&mut more);
                }
            }
        }
        Ok(())
    }

    pub async fn create_template(&self, p: &Principal, name: String, body: String) -> Result<Template, AppError> {
        let mut problems = Vec::new();
        check_name(&name, &mut problems);
        self.check_template_body(p, &body, &mut problems).await?;
        validated(problems)?;
        let now = now_millis();
        let t =
            Template { id: new_id(), account_id: p.account_id.clone(), name, body, created_at: now, updated_at: now };
        self.store().create_template(&t).await?;
        Ok(t)
    }

    pub async fn update_template(
        &self,
        p: &Principal,
        id: &str,
        name: Option<String>,
        body: Option<String>,
    ) -> Result<Template, AppError> {
        let mut t = self.template(p, id).await?;
        let mut problems = Vec::new();
        if let Some(name) = name {
            check_name(&name, &mut problems);
            t.name = name;
        }
        if let Some(body) = body {
            self.check_template_body(p, &body, &mut problems).await?;
            t.body = body;
        }
        validated(problems)?;
        t.updated_at = now_millis();
        self.store().update_template(&t).await?;
        Ok(t)
    }

    // ----- word spinners -----

    fn check_words(words: &[String], problems: &mut Vec<FieldError>) {
        if words.is_empty() || words.len() > MAX_WORDS {
            problems.push(FieldError::new("words", format!("needs 1 to {MAX_WORDS} words")));
        }
        for (i, w) in words.iter().enumerate() {
            let len = w.chars().count();
            if len == 0 || len > MAX_WORD || w.contains("{{") {
                problems.push(FieldError::new(
                    format!("words[{i}]"),
                    format!("must be 1 to {MAX_WORD} characters, without `{{{{`"),
                ));
            }
        }
    }

    pub async fn create_spinner(&self, p: &Principal, name: String, words: Vec<String>) -> Result<Spinner, AppError> {
        let mut problems = Vec::new();
        check_name(&name, &mut problems);
        Self::check_words(&words, &mut problems);
        validated(problems)?;
        let now = now_millis();
        let s =
            Spinner { id: new_id(), account_id: p.account_id.clone(), name, words, created_at: now, updated_at: now };
        self.store().create_spinner(&s).await?;
        Ok(s)
    }

    pub async fn update_spinner(
        &self,
        p: &Principal,
        id: &str,
        name: Option<String>,
        words: Option<Vec<String>>,
    ) -> Result<Spinner, AppError> {
        let mut s = self.spinner(p, id).await?;
        let mut problems = Vec::new();
        if let Some(name) = name {
            check_name(&name, &mut problems);
            s.name = name;
        }
        if let Some(words) = words {
            Self::check_words(&words, &mut problems);
            s.words = words;
        }
        validated(problems)?;
        s.updated_at = now_millis();
        self.store().update_spinner(&s).await?;
        Ok(s)
    }

    // ----- links -----

    fn new_link(p: &Principal, input: LinkInput, field: &str, problems: &mut Vec<FieldError>) -> Link {
        let mut named = Vec::new();
        check_name(&input.name, &mut named);
        problems.extend(named.into_iter().map(|e| FieldError::new(format!("{field}name"), e.message)));
        for (key, url) in [
            ("url", Some(&input.url)),
            ("bot_redirect", input.bot_redirect.as_ref()),
            ("preview_url", input.preview_url.as_ref()),
        ] {
            if let Some(Err(e)) = url.map(|u| check_redirect_url(u)) {
                problems.push(FieldError::new(format!("{field}{key}"), e));
            }
        }
        let now = now_millis();
        Link {
            id: new_id(),
            account_id: p.account_id.clone(),
            name: input.name,
            url: input.url,
            bot_redirect: input.bot_redirect,
            preview_url: input.preview_url,
            created_at: now,
            updated_at: now,
        }
    }

    pub async fn create_link(&self, p: &Principal, input: LinkInput) -> Result<Link, AppError> {
        let mut problems = Vec::new();
        let link = Self::new_link(p, input, "", &mut problems);
        validated(problems)?;
        self.store().create_link(&link).await?;
        Ok(link)
    }

    /// Changes the given fields; `Some(None)` clears a platform link.
    pub async fn update_link(
        &self,
        p: &Principal,
        id: &str,
        name: Option<String>,
        url: Option<String>,
        platform: Option<(Option<String>, Option<String>)>,
    ) -> Result<Link, AppError> {
        let old = self.link(p, id).await?;
        let (bot_redirect, preview_url) = platform.unwrap_or((old.bot_redirect.clone(), old.preview_url.clone()));
        let input =
            LinkInput { name: name.unwrap_or(old.name), url: url.unwrap_or(old.url), bot_redirect, preview_url };
        let mut problems = Vec::new();
        let link = Self::new_link(p, input, "", &mut problems);
        validated(problems)?;
        let link = Link { id: old.id, created_at: old.created_at, ..link };
        self.store().update_link(&link).await?;
        Ok(link)
    }

    /// How the short links of a link were clicked.
    pub async fn link_report(&self, p: &Principal, id: &str) -> Result<LinkReport, AppError> {
        self.link(p, id).await?;
        Ok(self.store().link_report(&p.account_id, ReportBy::Link, id).await?)
    }

    /// How the short links of one send were clicked (zeros for a batch without links); not
    /// found unless the batch is the caller's.
    pub async fn batch_link_report(&self, p: &Principal, batch_id: &str) -> Result<LinkReport, AppError> {
        if !self.store().batch_exists(&p.account_id, batch_id).await? {
            return Err(AppError::NotFound("batch"));
        }
        Ok(self.store().link_report(&p.account_id, ReportBy::Batch, batch_id).await?)
    }

    // ----- link lists -----

    pub async fn link_list(&self, p: &Principal, id: &str) -> Result<LinkListWithLinks, AppError> {
        let list = self.link_list_record(p, id).await?;
        let links = self.store().link_list_links(&p.account_id, id).await?;
        Ok(LinkListWithLinks { list, links })
    }

    pub async fn create_link_list(
        &self,
        p: &Principal,
        name: String,
        add: LinkListAddition,
    ) -> Result<LinkListWithLinks, AppError> {
        let mut problems = Vec::new();
        check_name(&name, &mut problems);
        validated(problems)?;
        let now = now_millis();
        let list = LinkList { id: new_id(), account_id: p.account_id.clone(), name, created_at: now, updated_at: now };
        let (new_links, link_ids) = self.links_to_add(p, add, 0).await?;
        self.store().create_link_list(&list).await?;
        self.store().add_to_link_list(&p.account_id, &list.id, &new_links, &link_ids).await?;
        self.link_list(p, &list.id).await
    }

    pub async fn rename_link_list(&self, p: &Principal, id: &str, name: String) -> Result<LinkListWithLinks, AppError> {
        let mut list = self.link_list_record(p, id).await?;
        let mut problems = Vec::new();
        check_name(&name, &mut problems);
        validated(problems)?;
        list.name = name;
        list.updated_at = now_millis();
        self.store().update_link_list(&list).await?;
        self.link_list(p, id).await
    }

    /// Adds existing links (by id) and new ones to a list.
    pub async fn add_to_link_list(
        &self,
        p: &Principal,
        id: &str,
        add: LinkListAddition,
    ) -> Result<LinkListWithLinks, AppError> {
        let current = self.link_list(p, id).await?;
        let (new_links, link_ids) = self.links_to_add(p, add, current.links.len()).await?;
        self.store().add_to_link_list(&p.account_id, id, &new_links, &link_ids).await?;
        self.link_list(p, id).await
    }

    pub async fn remove_from_link_list(&self, p: &Principal, id: &str, link_id: &str) -> Result<(), AppError> {
        self.link_list_record(p, id).await?;
        if self.store().remove_from_link_list(&p.account_id, id, link_id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("link in this list"))
        }
    }

    /// Validates an addition: new links are well formed, ids are the account's links, and the
    /// list stays within `MAX_LIST_LINKS`.
    async fn links_to_add(
        &self,
        p: &Principal,
        add: LinkListAddition,
        already: usize,
    ) -> Result<(Vec<Link>, Vec<String>), AppError> {
        let mut problems = Vec::new();
        if already + add.link_ids.len() + add.links.len() > MAX_LIST_LINKS {
            problems.push(FieldError::new("links", format!("a link list holds at most {MAX_LIST_LINKS} links")));
        }
        let new_links: Vec<Link> = add
            .links
            .into_iter()
            .enumerate()
            .map(|(i, l)| Self::new_link(p, l, &format!("links[{i}]."), &mut problems))
            .collect();
        let found = self.store().existing_links(&p.account_id, &add.link_ids).await?;
        for (i, id) in add.link_ids.iter().enumerate() {
            if !found.contains(id) {
                problems.push(FieldError::new(format!("link_ids[{i}]"), format!("no link {id:?}")));
            }
        }
        validated(problems)?;
        Ok((new_links, add.link_ids))
    }

    /// Adds the links of a CSV file (`name,url` rows; a `name,url` header row is skipped) to
    /// a list.
    pub async fn import_link_list(&self, p: &Principal, id: &str, file: &[u8]) -> Result<LinkListWithLinks, AppError> {
        if file.len() > MAX_IMPORT_BYTES {
            return Err(AppError::field("file", format!("must be at most {MAX_IMPORT_BYTES} bytes")));
        }
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(file);
        let mut links = Vec::new();
        let mut problems = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| AppError::field("file", format!("is not CSV: {e}")))?;
            let cells: Vec<&str> = row.iter().collect();
            match cells.as_slice() {
                [name, url] if i == 0 && name.eq_ignore_ascii_case("name") && url.eq_ignore_ascii_case("url") => {}
                [name, url] => {
                    links.push(LinkInput { name: (*name).to_owned(), url: (*url).to_owned(), ..LinkInput::default() });
                }
                [] | [""] => {}
                _ => problems.push(FieldError::new(format!("file row {}", i + 1), "needs two columns: name,url")),
            }
        }
        if links.is_empty() && problems.is_empty() {
            problems.push(FieldError::new("file", "has no links"));
        }
        validated(problems)?;
        self.add_to_link_list(p, id, LinkListAddition { links, link_ids: Vec::new() }).await
    }

    /// The public base URL, without a trailing slash.
    pub(crate) fn public_base(&self) -> &str {
        self.settings().links.public_base_url.trim_end_matches('/')
    }
}
