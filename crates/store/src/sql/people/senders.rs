//! Senders and sender lists.

use sqlx::Row;

use super::{
    DUPLICATE_SENDER, Db, DbRow, LIST_SELECT, QueryBuilder, SENDER_COLUMNS, SENDER_LIST_MEMBERS, add_members, sender,
    unique_to_conflict,
};
use crate::StoreError;
use crate::model::Page;
use crate::people_model::{SenderList, SenderRecord};

impl super::super::SqlStore {
    // ----- senders -----

    pub async fn create_sender(&self, s: &SenderRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO senders (id, account_id, value, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id)
        .bind(&s.account_id)
        .bind(&s.value)
        .bind(s.enabled)
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_to_conflict(e, DUPLICATE_SENDER))?;
        self.facts_changed(&s.account_id).await
    }

    /// Those of `ids` that are senders of the account, by id.
    pub async fn find_senders(&self, account_id: &str, ids: &[String]) -> Result<Vec<SenderRecord>, StoreError> {
        let select = format!("SELECT {SENDER_COLUMNS} FROM senders s");
        Ok(self.rows_by_ids(&select, "s.", account_id, ids).await?.iter().map(sender).collect())
    }

    pub async fn find_sender_by_value(
        &self,
        account_id: &str,
        value: &str,
    ) -> Result<Option<SenderRecord>, StoreError> {
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders s WHERE s.account_id = $1 AND s.value = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(value).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(sender))
    }

    /// Whether the account has this sender value and disabled it (cached).
    pub async fn sender_disabled(&self, account_id: &str, value: &str) -> Result<bool, StoreError> {
        Ok(self.send_facts(account_id).await?.disabled_senders.contains(value))
    }

    /// Senders whose value contains `name` (case-insensitively), by id.
    pub async fn list_senders(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<SenderRecord>, StoreError> {
        let select = format!("SELECT {SENDER_COLUMNS} FROM senders s");
        Ok(self.named_page(&select, "s.value", account_id, name, page).await?.iter().map(sender).collect())
    }

    pub async fn update_sender(&self, s: &SenderRecord) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE senders SET value = $1, enabled = $2, updated_at = $3 WHERE id = $4 AND account_id = $5",
        )
        .bind(&s.value)
        .bind(s.enabled)
        .bind(s.updated_at)
        .bind(&s.id)
        .bind(&s.account_id)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_to_conflict(e, DUPLICATE_SENDER))?;
        self.facts_changed(&s.account_id).await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes a sender and takes it out of every sender list.
    pub async fn delete_sender(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let deleted = self.delete_row("senders", account_id, id).await?;
        self.facts_changed(account_id).await?;
        Ok(deleted)
    }

    // ----- sender lists -----

    /// Stores a sender list with those of its `sender_ids` that are the account's senders.
    pub async fn create_sender_list(&self, l: &SenderList) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sender_lists (id, account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&l.id)
        .bind(&l.account_id)
        .bind(&l.name)
        .bind(l.created_at)
        .bind(l.updated_at)
        .execute(&mut *tx)
        .await?;
        add_members(&mut tx, &SENDER_LIST_MEMBERS, &l.account_id, &l.id, &l.sender_ids, l.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Those of `ids` that are sender lists of the account, by id, each with its senders.
    pub async fn find_sender_lists(&self, account_id: &str, ids: &[String]) -> Result<Vec<SenderList>, StoreError> {
        let rows = self.rows_by_ids(LIST_SELECT, "l.", account_id, ids).await?;
        let mut lists: Vec<SenderList> = rows.iter().map(sender_list).collect();
        self.fill_sender_ids(account_id, &mut lists).await?;
        Ok(lists)
    }

    /// Sender lists whose name contains `name` (case-insensitively), by id.
    pub async fn list_sender_lists(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<SenderList>, StoreError> {
        let rows = self.named_page(LIST_SELECT, "l.name", account_id, name, page).await?;
        let mut lists: Vec<SenderList> = rows.iter().map(sender_list).collect();
        self.fill_sender_ids(account_id, &mut lists).await?;
        Ok(lists)
    }

    async fn fill_sender_ids(&self, account_id: &str, lists: &mut [SenderList]) -> Result<(), StoreError> {
        if lists.is_empty() {
            return Ok(());
        }
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT sender_list_id, sender_id FROM sender_list_members WHERE account_id = ");
        qb.push_bind(account_id).push(" AND sender_list_id IN (");
        let mut sep = qb.separated(", ");
        for l in lists.iter() {
            sep.push_bind(&l.id);
        }
        qb.push(") ORDER BY created_at, sender_id");
        for r in qb.build().fetch_all(&self.pool).await? {
            let list_id: String = r.get(0);
            if let Some(l) = lists.iter_mut().find(|l| l.id == list_id) {
                l.sender_ids.push(r.get(1));
            }
        }
        Ok(())
    }

    /// Renames a sender list (its senders change through `add_to_sender_list` and
    /// `remove_from_sender_list`).
    pub async fn update_sender_list(&self, l: &SenderList) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE sender_lists SET name = $1, updated_at = $2 WHERE id = $3 AND account_id = $4")
            .bind(&l.name)
            .bind(l.updated_at)
            .bind(&l.id)
            .bind(&l.account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_sender_list(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_row("sender_lists", account_id, id).await
    }

    pub async fn add_to_sender_list(
        &self,
        account_id: &str,
        list_id: &str,
        sender_ids: &[String],
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let added = add_members(&mut tx, &SENDER_LIST_MEMBERS, account_id, list_id, sender_ids, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    pub async fn remove_from_sender_list(
        &self,
        account_id: &str,
        list_id: &str,
        sender_id: &str,
    ) -> Result<bool, StoreError> {
        self.remove_membership(&SENDER_LIST_MEMBERS, account_id, list_id, sender_id).await
    }

    /// The senders of one of the account's lists, by when they were added, then by id.
    pub async fn sender_list_senders(&self, account_id: &str, list_id: &str) -> Result<Vec<SenderRecord>, StoreError> {
        let sql = format!(
            "SELECT {SENDER_COLUMNS} FROM sender_list_members m JOIN senders s ON s.id = m.sender_id \
             WHERE m.sender_list_id = $1 AND m.account_id = $2 AND s.account_id = $3 ORDER BY m.created_at, s.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(list_id)
            .bind(account_id)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(sender).collect())
    }
}

fn sender_list(r: &DbRow) -> SenderList {
    SenderList {
        id: r.get(0),
        account_id: r.get(1),
        name: r.get(2),
        sender_ids: Vec::new(),
        created_at: r.get(3),
        updated_at: r.get(4),
    }
}
