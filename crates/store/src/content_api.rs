//! The `Store` methods for message content (see `content_model` and `sql/content.rs`).

use crate::content_model::{
    Link, LinkList, LinkReport, NewClick, ReportBy, ShortLink, ShortLinkTarget, Spinner, Template, Trigger,
};
use crate::{Page, Store, StoreError};

/// Create, update, find, list (by name) and delete for one record type.
macro_rules! records {
    ($t:ty, $create:ident, $update:ident, $find:ident, $list:ident, $delete:ident, $existing:ident) => {
        impl Store {
            pub async fn $create(&self, item: &$t) -> Result<(), StoreError> {
                delegate!(self, s => s.insert_record(item).await)
            }
            /// False when the account has no such record.
            pub async fn $update(&self, item: &$t) -> Result<bool, StoreError> {
                delegate!(self, s => s.update_record(item).await)
            }
            pub async fn $find(&self, account_id: &str, id: &str) -> Result<Option<$t>, StoreError> {
                delegate!(self, s => s.find_record::<$t>(account_id, id).await)
            }
            /// In id order after `page.after`; `name` keeps those whose name contains it.
            pub async fn $list(&self, account_id: &str, name: Option<&str>, page: &Page) -> Result<Vec<$t>, StoreError> {
                delegate!(self, s => s.list_records::<$t>(account_id, name, page).await)
            }
            pub async fn $delete(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
                delegate!(self, s => s.delete_record::<$t>(account_id, id).await)
            }
            /// Those of `ids` the account has.
            pub async fn $existing(&self, account_id: &str, ids: &[String]) -> Result<Vec<String>, StoreError> {
                delegate!(self, s => s.existing_ids::<$t>(account_id, ids).await)
            }
        }
    };
}

records!(
    Template,
    create_template,
    update_template,
    find_template,
    list_templates,
    delete_template,
    existing_templates
);
records!(Spinner, create_spinner, update_spinner, find_spinner, list_spinners, delete_spinner, existing_spinners);
records!(Link, create_link, update_link, find_link, list_links, delete_link, existing_links);
records!(
    LinkList,
    create_link_list,
    update_link_list,
    find_link_list,
    list_link_lists,
    delete_link_list,
    existing_link_lists
);
records!(Trigger, create_trigger, update_trigger, find_trigger, list_triggers, delete_trigger, existing_triggers);

impl Store {
    /// Creates `new_links` and appends them and `link_ids` (the account's) to a list.
    pub async fn add_to_link_list(
        &self,
        account_id: &str,
        list_id: &str,
        new_links: &[Link],
        link_ids: &[String],
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.add_to_link_list(account_id, list_id, new_links, link_ids).await)
    }
    pub async fn remove_from_link_list(
        &self,
        account_id: &str,
        list_id: &str,
        link_id: &str,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_from_link_list(account_id, list_id, link_id).await)
    }
    /// A list's links, in order.
    pub async fn link_list_links(&self, account_id: &str, list_id: &str) -> Result<Vec<Link>, StoreError> {
        delegate!(self, s => s.link_list_links(account_id, list_id).await)
    }
    pub async fn insert_short_links(&self, links: &[ShortLink]) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_short_links(links).await)
    }
    /// Takes back the short links minted for a send that was then not stored.
    pub async fn delete_short_links(&self, account_id: &str, batch_id: &str) -> Result<u64, StoreError> {
        delegate!(self, s => s.delete_short_links(account_id, batch_id).await)
    }
    /// Records a click and queues its `link.clicked` webhooks: the link and whether the click
    /// was unique, `None` for an unknown code.
    pub async fn record_click(&self, click: &NewClick) -> Result<Option<(ShortLinkTarget, bool)>, StoreError> {
        delegate!(self, s => s.record_click(click).await)
    }
    pub async fn link_report(&self, account_id: &str, by: ReportBy, id: &str) -> Result<LinkReport, StoreError> {
        delegate!(self, s => s.link_report(account_id, by, id).await)
    }
    pub async fn find_trigger_by_token(&self, token: &str) -> Result<Option<Trigger>, StoreError> {
        delegate!(self, s => s.find_trigger_by_token(token).await)
    }
    /// Fires a trigger; its waiting messages become due. Returns how many were released.
    pub async fn fire_trigger(&self, account_id: &str, id: &str, at: i64) -> Result<u64, StoreError> {
        delegate!(self, s => s.fire_trigger(account_id, id, at).await)
    }
}
