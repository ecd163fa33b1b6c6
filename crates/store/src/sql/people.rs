//! Contacts, contact groups and their members, senders and sender lists. Every statement
//! filters by `account_id`, and a membership is only ever written between two rows of the
//! same account (the inserts select the members from the owner's account).

mod senders;

use sqlx::{QueryBuilder, Row};

use super::accounts::unique_to_conflict;
use super::rows::page_limit;
use super::{Conn, Db, DbRow};
use crate::StoreError;
use crate::model::Page;
use crate::people_model::{Contact, ContactFilter, ContactGroup, SenderRecord};

const CONTACT_COLUMNS: &str = "c.id, c.account_id, c.phone, c.first_name, c.last_name, c.email, c.reference, c.fields, c.created_at, c.updated_at";
const GROUP_COLUMNS: &str = "g.id, g.account_id, g.name, g.fields, g.created_at, g.updated_at";
const LIST_SELECT: &str = "SELECT l.id, l.account_id, l.name, l.created_at, l.updated_at FROM sender_lists l";
const SENDER_COLUMNS: &str = "s.id, s.account_id, s.value, s.enabled, s.created_at, s.updated_at";
const DUPLICATE_PHONE: &str = "a contact with this phone number exists";
const DUPLICATE_SENDER: &str = "this sender is already registered";
/// Ids bound in one statement at most.
const CHUNK: usize = 500;

fn contact(r: &DbRow) -> Contact {
    let fields: String = r.get(7);
    Contact {
        id: r.get(0),
        account_id: r.get(1),
        phone: r.get(2),
        first_name: r.get(3),
        last_name: r.get(4),
        email: r.get(5),
        reference: r.get(6),
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        created_at: r.get(8),
        updated_at: r.get(9),
    }
}

fn group(r: &DbRow) -> ContactGroup {
    let fields: String = r.get(3);
    ContactGroup {
        id: r.get(0),
        account_id: r.get(1),
        name: r.get(2),
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        created_at: r.get(4),
        updated_at: r.get(5),
    }
}

fn sender(r: &DbRow) -> SenderRecord {
    SenderRecord {
        id: r.get(0),
        account_id: r.get(1),
        value: r.get(2),
        enabled: r.get(3),
        created_at: r.get(4),
        updated_at: r.get(5),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A `LIKE ... ESCAPE '\'` pattern matching `s` anywhere, for a lower-cased column.
fn contains_pattern(s: &str) -> String {
    let mut pattern = String::from("%");
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A many-to-many table between an owner (a group, a sender list) and its members.
struct Membership {
    table: &'static str,
    owner_table: &'static str,
    owner_column: &'static str,
    member_table: &'static str,
    member_column: &'static str,
}

const GROUP_MEMBERS: Membership = Membership {
    table: "group_members",
    owner_table: "contact_groups",
    owner_column: "group_id",
    member_table: "contacts",
    member_column: "contact_id",
};
const SENDER_LIST_MEMBERS: Membership = Membership {
    table: "sender_list_members",
    owner_table: "sender_lists",
    owner_column: "sender_list_id",
    member_table: "senders",
    member_column: "sender_id",
};

/// Adds those of `ids` that belong to `account_id` to `owner_id` (when it belongs to the
/// account too); returns how many were not members yet.
async fn add_members(
    conn: &mut Conn,
    m: &Membership,
    account_id: &str,
    owner_id: &str,
    ids: &[String],
    now: i64,
) -> Result<u64, StoreError> {
    let mut added = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "INSERT INTO {} ({}, {}, account_id, created_at) SELECT ",
            m.table, m.owner_column, m.member_column
        ));
        qb.push_bind(owner_id).push(", id, account_id, ").push_bind(now);
        qb.push(format!(" FROM {} WHERE account_id = ", m.member_table)).push_bind(account_id);
        qb.push(format!(" AND EXISTS (SELECT 1 FROM {} WHERE id = ", m.owner_table)).push_bind(owner_id);
        qb.push(" AND account_id = ").push_bind(account_id).push(") AND id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id);
        }
        qb.push(") ON CONFLICT DO NOTHING");
        added += qb.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(added)
}

impl super::SqlStore {
    async fn remove_membership(
        &self,
        m: &Membership,
        account_id: &str,
        owner_id: &str,
        member_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE {} = $1 AND {} = $2 AND account_id = $3",
            m.table, m.owner_column, m.member_column
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner_id)
            .bind(member_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The rows of `select` (`SELECT ... FROM table alias`) of the account whose id is one
    /// of `ids`, by id; `alias` is `x.`, or `x.something_` for an id column `something_id`.
    async fn rows_by_ids(
        &self,
        select: &str,
        alias: &str,
        account_id: &str,
        ids: &[String],
    ) -> Result<Vec<DbRow>, StoreError> {
        let table = alias.split('.').next().unwrap_or_default();
        let mut rows = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("{select} WHERE {table}.account_id = "));
            qb.push_bind(account_id).push(format!(" AND {alias}id IN ("));
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id);
            }
            qb.push(format!(") ORDER BY {alias}id"));
            rows.extend(qb.build().fetch_all(&self.pool).await?);
        }
        Ok(rows)
    }

    /// A page of the rows of `select` (`SELECT ... FROM table alias`) of the account, by id,
    /// whose `name_column` contains `name` (case-insensitively).
    async fn named_page(
        &self,
        select: &str,
        name_column: &str,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<DbRow>, StoreError> {
        let alias = name_column.split('.').next().unwrap_or_default();
        let sql = format!(
            "{select} WHERE {alias}.account_id = $1 AND {alias}.id > $2 \
             AND ($3 IS NULL OR lower({name_column}) LIKE $4 ESCAPE '\\') ORDER BY {alias}.id LIMIT $5"
        );
        let name = name.map(contains_pattern);
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(page.after.as_deref().unwrap_or(""))
            .bind(&name)
            .bind(&name)
            .bind(page_limit(page.limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn delete_row(&self, table: &str, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {table} WHERE id = $1 AND account_id = $2");
        let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }

    // ----- contacts -----

    /// Stores a contact and makes it a member of those of `group_ids` that are its account's.
    pub async fn create_contact(&self, c: &Contact, group_ids: &[String]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO contacts (id, account_id, phone, first_name, last_name, email, reference, fields, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.phone)
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.email)
        .bind(&c.reference)
        .bind(to_json(&c.fields))
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_to_conflict(e, DUPLICATE_PHONE))?;
        for group_id in group_ids {
            let ids = std::slice::from_ref(&c.id);
            add_members(&mut tx, &GROUP_MEMBERS, &c.account_id, group_id, ids, c.created_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_contact(&self, account_id: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = $1 AND c.account_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(contact))
    }

    /// Those of `ids` that are contacts of the account, by id.
    pub async fn find_contacts(&self, account_id: &str, ids: &[String]) -> Result<Vec<Contact>, StoreError> {
        let select = format!("SELECT {CONTACT_COLUMNS} FROM contacts c");
        Ok(self.rows_by_ids(&select, "c.", account_id, ids).await?.iter().map(contact).collect())
    }

    pub async fn list_contacts(
        &self,
        account_id: &str,
        filter: &ContactFilter,
        page: &Page,
    ) -> Result<Vec<Contact>, StoreError> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.account_id = $1 AND c.id > $2 \
             AND ($3 IS NULL OR lower(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) LIKE $4 ESCAPE '\\') \
             AND ($5 IS NULL OR c.phone = $6) ORDER BY c.id LIMIT $7"
        );
        let name = filter.name.as_deref().map(contains_pattern);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(page.after.as_deref().unwrap_or(""))
            .bind(&name)
            .bind(&name)
            .bind(&filter.phone)
            .bind(&filter.phone)
            .bind(page_limit(page.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(contact).collect())
    }

    pub async fn update_contact(&self, c: &Contact) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE contacts SET phone = $1, first_name = $2, last_name = $3, email = $4, reference = $5, fields = $6, \
             updated_at = $7 WHERE id = $8 AND account_id = $9",
        )
        .bind(&c.phone)
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.email)
        .bind(&c.reference)
        .bind(to_json(&c.fields))
        .bind(c.updated_at)
        .bind(&c.id)
        .bind(&c.account_id)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_to_conflict(e, DUPLICATE_PHONE))?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes a contact and its group memberships.
    pub async fn delete_contact(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_row("contacts", account_id, id).await
    }

    /// The groups each of `contact_ids` is in: `(contact_id, group_id)`, by contact then group.
    pub async fn contact_group_ids(
        &self,
        account_id: &str,
        contact_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut pairs: Vec<(String, String)> = self
            .rows_by_ids("SELECT m.contact_id, m.group_id FROM group_members m", "m.contact_", account_id, contact_ids)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        pairs.sort();
        Ok(pairs)
    }

    // ----- contact groups -----

    pub async fn create_group(&self, g: &ContactGroup) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO contact_groups (id, account_id, name, fields, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&g.id)
        .bind(&g.account_id)
        .bind(&g.name)
        .bind(to_json(&g.fields))
        .bind(g.created_at)
        .bind(g.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Those of `ids` that are groups of the account, by id.
    pub async fn find_groups(&self, account_id: &str, ids: &[String]) -> Result<Vec<ContactGroup>, StoreError> {
        let select = format!("SELECT {GROUP_COLUMNS} FROM contact_groups g");
        Ok(self.rows_by_ids(&select, "g.", account_id, ids).await?.iter().map(group).collect())
    }

    /// Groups whose name contains `name` (case-insensitively), by id.
    pub async fn list_groups(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<ContactGroup>, StoreError> {
        let select = format!("SELECT {GROUP_COLUMNS} FROM contact_groups g");
        Ok(self.named_page(&select, "g.name", account_id, name, page).await?.iter().map(group).collect())
    }

    pub async fn update_group(&self, g: &ContactGroup) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE contact_groups SET name = $1, fields = $2, updated_at = $3 WHERE id = $4 AND account_id = $5",
        )
        .bind(&g.name)
        .bind(to_json(&g.fields))
        .bind(g.updated_at)
        .bind(&g.id)
        .bind(&g.account_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes a group and its memberships (its contacts stay).
    pub async fn delete_group(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_row("contact_groups", account_id, id).await
    }

    /// Adds those of `contact_ids` that are the account's contacts to one of its groups;
    /// returns how many were not members yet.
    pub async fn add_to_group(
        &self,
        account_id: &str,
        group_id: &str,
        contact_ids: &[String],
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let added = add_members(&mut tx, &GROUP_MEMBERS, account_id, group_id, contact_ids, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    pub async fn remove_from_group(
        &self,
        account_id: &str,
        group_id: &str,
        contact_id: &str,
    ) -> Result<bool, StoreError> {
        self.remove_membership(&GROUP_MEMBERS, account_id, group_id, contact_id).await
    }

    /// A page of the members of `group_ids` (each contact once), by contact id.
    pub async fn list_group_contacts(
        &self,
        account_id: &str,
        group_ids: &[String],
        page: &Page,
    ) -> Result<Vec<Contact>, StoreError> {
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.account_id = "));
        qb.push_bind(account_id).push(" AND c.id > ").push_bind(page.after.as_deref().unwrap_or(""));
        qb.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE m.contact_id = c.id AND m.account_id = ");
        qb.push_bind(account_id).push(" AND m.group_id IN (");
        let mut sep = qb.separated(", ");
        for id in group_ids.iter().take(CHUNK) {
            sep.push_bind(id);
        }
        qb.push(")) ORDER BY c.id LIMIT ").push_bind(page_limit(page.limit));
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(contact).collect())
    }
}
