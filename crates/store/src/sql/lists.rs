//! Recipient and unsubscribe lists and their members.

use sqlx::{QueryBuilder, Row};

use super::rows::page_limit;
use super::{Db, DbRow};
use crate::StoreError;
use crate::lists::{List, ListFilter, ListKind, Member};
use crate::model::Page;

const LIST_COLUMNS: &str = "l.id, l.account_id, l.name, l.enabled, \
     (SELECT count(*) FROM list_members m WHERE m.list_id = l.id), l.created_at, l.updated_at";
const MEMBER_COLUMNS: &str =
    "phone, first_name, last_name, email, url, custom, custom1, custom2, custom3, custom4, created_at";
/// Members per INSERT statement (11 binds each keeps under every driver's bind limit).
const MEMBERS_PER_STATEMENT: usize = 500;

fn list(r: &DbRow) -> List {
    List {
        id: r.get(0),
        account_id: r.get(1),
        name: r.get(2),
        enabled: r.get(3),
        count: r.get(4),
        created_at: r.get(5),
        updated_at: r.get(6),
    }
}

fn member(r: &DbRow) -> Member {
    Member {
        phone: r.get(0),
        first_name: r.get(1),
        last_name: r.get(2),
        email: r.get(3),
        url: r.get(4),
        custom: r.get(5),
        customs: [r.get(6), r.get(7), r.get(8), r.get(9)],
        created_at: r.get(10),
    }
}

impl super::SqlStore {
    pub async fn create_list(&self, kind: ListKind, l: &List) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO lists (id, account_id, kind, name, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&l.id)
        .bind(&l.account_id)
        .bind(kind.as_str())
        .bind(&l.name)
        .bind(l.enabled)
        .bind(l.created_at)
        .bind(l.updated_at)
        .execute(&self.pool)
        .await?;
        self.facts_changed(&l.account_id).await
    }

    pub async fn find_list(&self, account_id: &str, kind: ListKind, id: &str) -> Result<Option<List>, StoreError> {
        let sql = format!("SELECT {LIST_COLUMNS} FROM lists l WHERE l.id = $1 AND l.account_id = $2 AND l.kind = $3");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(list))
    }

    pub async fn list_enabled(&self, account_id: &str, kind: ListKind, id: &str) -> Result<Option<bool>, StoreError> {
        let row = sqlx::query("SELECT enabled FROM lists WHERE id = $1 AND account_id = $2 AND kind = $3")
            .bind(id)
            .bind(account_id)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn list_lists(
        &self,
        account_id: &str,
        kind: ListKind,
        filter: &ListFilter,
        page: &Page,
    ) -> Result<Vec<List>, StoreError> {
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM lists l WHERE l.account_id = $1 AND l.kind = $2 AND l.id > $3 \
             AND ($4 IS NULL OR lower(l.name) LIKE $5 ESCAPE '\\') AND ($6 IS NULL OR l.enabled = $7) ORDER BY l.id LIMIT $8"
        );
        let name = filter.name.as_ref().map(|n| format!("%{}%", escape_like(&n.to_lowercase())));

        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(kind.as_str())
            .bind(page.after.as_deref().unwrap_or(""))
            .bind(name.as_deref())
            .bind(name.as_deref())
            .bind(filter.enabled)
            .bind(filter.enabled)
            .bind(page_limit(page.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(list).collect())
    }

    pub async fn update_list(
        &self,
        account_id: &str,
        kind: ListKind,
        id: &str,
        name: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE lists SET name = coalesce($1, name), enabled = coalesce($2, enabled), updated_at = $3 \
             WHERE id = $4 AND account_id = $5 AND kind = $6",
        )
        .bind(name)
        .bind(enabled)
        .bind(textbird_types::now_millis())
        .bind(id)
        .bind(account_id)
        .bind(kind.as_str())
        .execute(&self.pool)
        .await?;
        self.facts_changed(account_id).await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_list(&self, account_id: &str, kind: ListKind, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM lists WHERE id = $1 AND account_id = $2 AND kind = $3")
            .bind(id)
            .bind(account_id)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM list_members WHERE list_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        self.facts_changed(account_id).await?;
        Ok(true)
    }

    pub async fn insert_members(
        &self,
        list_id: &str,
        import_id: Option<&str>,
        members: &[Member],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut inserted = 0;
        for chunk in members.chunks(MEMBERS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                "INSERT INTO list_members (list_id, phone, first_name, last_name, email, url, custom, custom1, \
                 custom2, custom3, custom4, import_id, created_at) ",
            );
            qb.push_values(chunk, |mut b, m| {
                b.push_bind(list_id)
                    .push_bind(&m.phone)
                    .push_bind(&m.first_name)
                    .push_bind(&m.last_name)
                    .push_bind(&m.email)
                    .push_bind(&m.url)
                    .push_bind(&m.custom)
                    .push_bind(&m.customs[0])
                    .push_bind(&m.customs[1])
                    .push_bind(&m.customs[2])
                    .push_bind(&m.customs[3])
                    .push_bind(import_id)
                    .push_bind(m.created_at);
            });
            qb.push(" ON CONFLICT (list_id, phone) DO NOTHING");
            inserted += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn remove_import(&self, list_id: &str, import_id: &str) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM list_members WHERE list_id = $1 AND import_id = $2")
            .bind(list_id)
            .bind(import_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn replace_members(&self, list_id: &str, staging_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM list_members WHERE list_id = $1").bind(list_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE list_members SET list_id = $1 WHERE list_id = $2")
            .bind(list_id)
            .bind(staging_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE lists SET updated_at = $1 WHERE id = $2")
            .bind(textbird_types::now_millis())
            .bind(list_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_members(&self, list_id: &str, page: &Page) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM list_members WHERE list_id = $1 AND phone > $2 ORDER BY phone LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(list_id)
            .bind(page.after.as_deref().unwrap_or(""))
            .bind(page_limit(page.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(member).collect())
    }

    pub async fn remove_member(&self, list_id: &str, phone: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM list_members WHERE list_id = $1 AND phone = $2")
            .bind(list_id)
            .bind(phone)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn unsubscribed(
        &self,
        account_id: &str,
        list_ids: Option<&[String]>,
        phones: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let facts = self.send_facts(account_id).await?;
        let lists = facts.unsubscribe_lists.iter().filter(|(id, _)| list_ids.is_none_or(|ids| ids.contains(id)));
        let mut out = Vec::new();
        for (id, name) in lists {
            for chunk in phones.chunks(500) {
                let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT phone FROM list_members WHERE list_id = ");
                qb.push_bind(id).push(" AND phone IN (");
                let mut sep = qb.separated(", ");
                for p in chunk {
                    sep.push_bind(*p);
                }
                qb.push(")");
                for r in qb.build().fetch_all(&self.pool).await? {
                    out.push((r.get(0), name.clone()));
                }
            }
        }
        Ok(out)
    }
}

/// `%`, `_` and `\` match themselves in a LIKE pattern escaped with `\`.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
