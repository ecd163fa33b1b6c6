//! The ids vendor dialects show: an integer and a 13-hex-character uid per native object,
//! given the first time a dialect shows the object. Dialects translate with these and never
//! see how they are stored.

use std::collections::HashMap;

use rand::RngExt;
use textbird_store::{Alias, NewAlias};
use textbird_types::now_millis;

use crate::{App, AppError, Principal};

/// What an alias names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasKind {
    Message,
    Inbound,
    Contact,
    Group,
}

impl AliasKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AliasKind::Message => "message",
            AliasKind::Inbound => "inbound",
            AliasKind::Contact => "contact",
            AliasKind::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [AliasKind::Message, AliasKind::Inbound, AliasKind::Contact, AliasKind::Group]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Characters in a uid: 52 random bits as lowercase hex.
pub const UID_LEN: usize = 13;

fn new_uid() -> String {
    let bits: u64 = rand::rng().random::<u64>() >> (64 - 4 * UID_LEN);
    format!("{bits:0UID_LEN$x}")
}

impl App {
    /// The aliases of the account's objects `ids` (all of `kind`), by native id, giving one to
    /// each object that has none. Ids that are not the account's must not be passed.
    pub async fn aliases(
        &self,
        p: &Principal,
        kind: AliasKind,
        ids: &[String],
    ) -> Result<HashMap<String, Alias>, AppError> {
        let targets: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Most objects have theirs already: a read finds them without taking the write lock.
        let mut found: HashMap<String, Alias> = self
            .store()
            .find_aliases(&p.account_id, kind.as_str(), &targets)
            .await?
            .into_iter()
            .map(|a| (a.target.clone(), a))
            .collect();
        // A proposed uid another object holds leaves its target without an alias: propose again.
        for _ in 0..3 {
            let missing: Vec<NewAlias> = ids
                .iter()
                .filter(|id| !found.contains_key(*id))
                .map(|id| NewAlias { target: id.clone(), uid: new_uid(), created_at: now_millis() })
                .collect();
            if missing.is_empty() {
                break;
            }
            for a in self.store().ensure_aliases(&p.account_id, kind.as_str(), &missing).await? {
                found.insert(a.target.clone(), a);
            }
        }
        Ok(found)
    }

    /// The alias of one object.
    pub async fn alias(&self, p: &Principal, kind: AliasKind, id: &str) -> Result<Alias, AppError> {
        self.aliases(p, kind, &[id.to_owned()])
            .await?
            .remove(id)
            .ok_or_else(|| AppError::Internal("no alias could be given".into()))
    }

    /// The account's object with this integer id.
    pub async fn alias_by_seq(&self, p: &Principal, seq: i64) -> Result<Option<(AliasKind, String)>, AppError> {
        let a = self.store().find_alias_by_seq(&p.account_id, seq).await?;
        Ok(a.and_then(|a| Some((AliasKind::parse(&a.kind)?, a.target))))
    }

    /// The account's object with this uid.
    pub async fn alias_by_uid(&self, p: &Principal, uid: &str) -> Result<Option<(AliasKind, String)>, AppError> {
        if uid.len() != UID_LEN || !uid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let a = self.store().find_alias_by_uid(&p.account_id, &uid.to_ascii_lowercase()).await?;
        Ok(a.and_then(|a| Some((AliasKind::parse(&a.kind)?, a.target))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_13_hex_characters() {
        for _ in 0..1000 {
            let u = new_uid();
            assert_eq!(u.len(), UID_LEN, "{u}");
            assert!(u.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{u}");
        }
        assert_ne!(new_uid(), new_uid());
    }
}
