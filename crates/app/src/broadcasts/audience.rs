//! Reading a broadcast's audience as a stream of chunks: its numbers, then each recipient
//! list's members, then the members of its groups, then its contacts. A position names where
//! the next chunk starts (`source:after`), so a walk can be stopped and resumed anywhere.

use textbird_store::{ListKind, Page};
use textbird_types::Msisdn;

use super::BroadcastAudience;
use crate::{App, AppError, Principal, Recipient};

/// One recipient as read: the number (or why it is not one) and its data.
pub(crate) struct Read {
    pub number: Result<Msisdn, String>,
    pub data: Option<Recipient>,
}

/// Where a walk through an audience stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Walk {
    /// 0: numbers; 1..=lists: a list; lists+1: the groups; lists+2: the contacts.
    source: usize,
    /// The last key read in the source (an offset for numbers and contacts).
    after: String,
    finished: bool,
}

impl Walk {
    pub const START: &'static str = "0:";
    pub const DONE: &'static str = "done";

    pub fn start() -> Self {
        Self { source: 0, after: String::new(), finished: false }
    }

    pub fn parse(position: &str) -> Self {
        if position == Self::DONE {
            return Self { source: usize::MAX, after: String::new(), finished: true };
        }
        let (source, after) = position.split_once(':').unwrap_or(("0", ""));
        Self { source: source.parse().unwrap_or(0), after: after.to_owned(), finished: false }
    }

    pub fn position(&self) -> String {
        if self.finished { Self::DONE.to_owned() } else { format!("{}:{}", self.source, self.after) }
    }

    pub fn done(&self) -> bool {
        self.finished
    }

    fn next_source(&mut self) {
        self.source += 1;
        self.after.clear();
    }
}

impl App {
    /// Reads the next chunk of at most `size` recipients (from one source) and moves `walk`
    /// past it. An empty chunk with `walk` not done means a source ended.
    pub(crate) async fn read_chunk(
        &self,
        p: &Principal,
        a: &BroadcastAudience,
        walk: &mut Walk,
        size: u32,
    ) -> Result<Vec<Read>, AppError> {
        let lists = a.list_ids.len();
        loop {
            if walk.finished {
                return Ok(Vec::new());
            }
            let offset: usize = walk.after.parse().unwrap_or(0);
            let out: Vec<Read> = match walk.source {
                0 => {
                    let end = (offset + size as usize).min(a.numbers.len());
                    let out: Vec<Read> = a.numbers[offset.min(end)..end]
                        .iter()
                        .map(|raw| Read {
                            number: Msisdn::parse(raw, p.country).map_err(|e| e.to_string()),
                            data: None,
                        })
                        .collect();
                    if end >= a.numbers.len() {
                        walk.next_source();
                    } else {
                        walk.after = end.to_string();
                    }
                    out
                }
                s if s <= lists => {
                    let id = &a.list_ids[s - 1];
                    if self.store().list_enabled(&p.account_id, ListKind::Recipients, id).await?.is_none() {
                        walk.next_source();
                        continue;
                    }
                    let after = (!walk.after.is_empty()).then(|| walk.after.clone());
                    let members = self.store().list_members(id, &Page { after, limit: size }).await?;
                    if members.len() < size as usize {
                        walk.next_source();
                    } else if let Some(m) = members.last() {
                        walk.after.clone_from(&m.phone);
                    }
                    members
                        .into_iter()
                        .map(|m| {
                            let r = crate::lists::recipient_of(m);
                            Read { number: Ok(Msisdn::from_trusted(r.phone.clone())), data: Some(r) }
                        })
                        .collect()
                }
                s if s == lists + 1 => {
                    if a.group_ids.is_empty() {
                        walk.next_source();
                        continue;
                    }
                    let after = (!walk.after.is_empty()).then(|| walk.after.clone());
                    let page = Page { after, limit: size };
                    let contacts = self.store().list_group_contacts(&p.account_id, &a.group_ids, &page).await?;
                    if contacts.len() < size as usize {
                        walk.next_source();
                    } else if let Some(c) = contacts.last() {
                        walk.after.clone_from(&c.id);
                    }
                    contacts.into_iter().map(contact_read).collect()
                }
                s if s == lists + 2 => {
                    let end = (offset + size as usize).min(a.contact_ids.len());
                    let ids = &a.contact_ids[offset.min(end)..end];
                    let mut found = self.store().find_contacts(&p.account_id, ids).await?;
                    found.sort_by_key(|c| ids.iter().position(|i| *i == c.id));
                    if end >= a.contact_ids.len() {
                        walk.next_source();
                    } else {
                        walk.after = end.to_string();
                    }
                    found.into_iter().map(contact_read).collect()
                }
                _ => {
                    walk.finished = true;
                    Vec::new()
                }
            };
            if !out.is_empty() || walk.finished {
                return Ok(out);
            }
        }
    }
}

fn contact_read(c: textbird_store::Contact) -> Read {
    let r = crate::people::recipient(c);
    Read { number: Ok(Msisdn::from_trusted(r.phone.clone())), data: Some(r) }
}
