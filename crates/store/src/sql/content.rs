//! Message content: templates, spinners, links, link lists and triggers (configuration
//! writes through the pool), the short links sends mint, their clicks (with the `link.clicked`
//! outbox rows in the same transaction) and trigger firing. Every query is scoped to an
//! account except the lookups by short-link code and trigger token, which are the secrets.

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row};

use super::batch::Fanout;
use super::rows::page_limit;
use super::{Db, DbRow};
use crate::StoreError;
use crate::content_model::{
    Link, LinkList, LinkReport, NewClick, ReportBy, ShortLink, ShortLinkKind, ShortLinkTarget, Spinner, Template,
    Trigger,
};
use crate::model::Page;

/// `next_attempt_at` of a message waiting for its trigger: never due.
pub(crate) const WAITING_FOR_TRIGGER: i64 = i64::MAX / 2;
/// Rows per multi-row insert of short links.
const SHORT_LINKS_PER_STATEMENT: usize = 200;

/// A content record kept in one table of its own, keyed by `(id, account_id)`.
pub(crate) trait Record: Sized {
    const TABLE: &'static str;
    /// Starts with `id, account_id, name`.
    const COLUMNS: &'static str;
    /// Statements run before a delete (`$1` = id, `$2` = account), for rows that refer to it.
    const ON_DELETE: &'static [&'static str] = &[];
    fn from_row(r: &DbRow) -> Self;
    /// Binds every column of `COLUMNS`, in order.
    fn push_values(&self, q: &mut Separated<'_, Db, &'static str>);
    /// `(account_id, id)`.
    fn key(&self) -> (&str, &str);
}

impl Record for Template {
    const TABLE: &'static str = "templates";
    const COLUMNS: &'static str = "id, account_id, name, body, created_at, updated_at";
    fn from_row(r: &DbRow) -> Self {
        Template {
            id: r.get(0),
            account_id: r.get(1),
            name: r.get(2),
            body: r.get(3),
            created_at: r.get(4),
            updated_at: r.get(5),
        }
    }
    fn push_values(&self, q: &mut Separated<'_, Db, &'static str>) {
        q.push_bind(self.id.clone()).push_bind(self.account_id.clone()).push_bind(self.name.clone());
        q.push_bind(self.body.clone()).push_bind(self.created_at).push_bind(self.updated_at);
    }
    fn key(&self) -> (&str, &str) {
        (&self.account_id, &self.id)
    }
}

impl Record for Spinner {
    const TABLE: &'static str = "spinners";
    const COLUMNS: &'static str = "id, account_id, name, words, created_at, updated_at";
    fn from_row(r: &DbRow) -> Self {
        let words: String = r.get(3);
        Spinner {
            id: r.get(0),
            account_id: r.get(1),
            name: r.get(2),
            words: serde_json::from_str(&words).unwrap_or_default(),
            created_at: r.get(4),
            updated_at: r.get(5),
        }
    }
    fn push_values(&self, q: &mut Separated<'_, Db, &'static str>) {
        let words = serde_json::to_string(&self.words).unwrap_or_else(|_| "[]".into());
        q.push_bind(self.id.clone()).push_bind(self.account_id.clone()).push_bind(self.name.clone());
        q.push_bind(words).push_bind(self.created_at).push_bind(self.updated_at);
    }
    fn key(&self) -> (&str, &str) {
        (&self.account_id, &self.id)
    }
}

impl Record for Link {
    const TABLE: &'static str = "links";
    const COLUMNS: &'static str = "id, account_id, name, url, bot_redirect, preview_url, created_at, updated_at";
    const ON_DELETE: &'static [&'static str] = &["DELETE FROM link_list_links WHERE link_id = $1 AND account_id = $2"];
    fn from_row(r: &DbRow) -> Self {
        Link {
            id: r.get(0),
            account_id: r.get(1),
            name: r.get(2),
            url: r.get(3),
            bot_redirect: r.get(4),
            preview_url: r.get(5),
            created_at: r.get(6),
            updated_at: r.get(7),
        }
    }
    fn push_values(&self, q: &mut Separated<'_, Db, &'static str>) {
        q.push_bind(self.id.clone()).push_bind(self.account_id.clone()).push_bind(self.name.clone());
        q.push_bind(self.url.clone()).push_bind(self.bot_redirect.clone()).push_bind(self.preview_url.clone());
        q.push_bind(self.created_at).push_bind(self.updated_at);
    }
    fn key(&self) -> (&str, &str) {
        (&self.account_id, &self.id)
    }
}

impl Record for LinkList {
    const TABLE: &'static str = "link_lists";
    const COLUMNS: &'static str = "id, account_id, name, created_at, updated_at";
    const ON_DELETE: &'static [&'static str] = &["DELETE FROM link_list_links WHERE list_id = $1 AND account_id = $2"];
    fn from_row(r: &DbRow) -> Self {
        LinkList { id: r.get(0), account_id: r.get(1), name: r.get(2), created_at: r.get(3), updated_at: r.get(4) }
    }
    fn push_values(&self, q: &mut Separated<'_, Db, &'static str>) {
        q.push_bind(self.id.clone()).push_bind(self.account_id.clone()).push_bind(self.name.clone());
        q.push_bind(self.created_at).push_bind(self.updated_at);
    }
    fn key(&self) -> (&str, &str) {
        (&self.account_id, &self.id)
    }
}

impl Record for Trigger {
    const TABLE: &'static str = "triggers";
    const COLUMNS: &'static str = "id, account_id, name, token, fired_at, created_at, updated_at";
    fn from_row(r: &DbRow) -> Self {
        Trigger {
            id: r.get(0),
            account_id: r.get(1),
            name: r.get(2),
            token: r.get(3),
            fired_at: r.get(4),
            created_at: r.get(5),
            updated_at: r.get(6),
        }
    }
    fn push_values(&self, q: &mut Separated<'_, Db, &'static str>) {
        q.push_bind(self.id.clone()).push_bind(self.account_id.clone()).push_bind(self.name.clone());
        q.push_bind(self.token.clone()).push_bind(self.fired_at).push_bind(self.created_at).push_bind(self.updated_at);
    }
    fn key(&self) -> (&str, &str) {
        (&self.account_id, &self.id)
    }
}

const SHORT_LINK_COLUMNS: &str =
    "s.code, s.account_id, s.message_id, s.batch_id, s.phone, s.kind, s.link_id, s.url, s.created_at";

fn short_link(r: &DbRow) -> ShortLink {
    let kind: String = r.get(5);
    ShortLink {
        code: r.get(0),
        account_id: r.get(1),
        message_id: r.get(2),
        batch_id: r.get(3),
        phone: r.get(4),
        kind: ShortLinkKind::parse(&kind),
        link_id: r.get(6),
        url: r.get(7),
        created_at: r.get(8),
    }
}

/// Escapes `LIKE` wildcards so a name filter matches literally.
fn like_pattern(name: &str) -> String {
    let escaped = name.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

impl super::SqlStore {
    pub(crate) async fn insert_record<T: Record>(&self, item: &T) -> Result<(), StoreError> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("INSERT INTO {} ({}) VALUES (", T::TABLE, T::COLUMNS));
        item.push_values(&mut qb.separated(", "));
        qb.push(")");
        qb.build().execute(&self.pool).await?;
        Ok(())
    }

    /// Rewrites every column of a record; false when the account has no such record.
    pub(crate) async fn update_record<T: Record>(&self, item: &T) -> Result<bool, StoreError> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("UPDATE {} SET ({}) = (", T::TABLE, T::COLUMNS));
        item.push_values(&mut qb.separated(", "));
        let (account_id, id) = item.key();
        qb.push(") WHERE id = ").push_bind(id.to_owned()).push(" AND account_id = ").push_bind(account_id.to_owned());
        Ok(qb.build().execute(&self.pool).await?.rows_affected() > 0)
    }

    pub(crate) async fn find_record<T: Record>(&self, account_id: &str, id: &str) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT {} FROM {} WHERE id = $1 AND account_id = $2", T::COLUMNS, T::TABLE);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(T::from_row))
    }

    /// A page of an account's records in id order, optionally those whose name contains
    /// `name` (ignoring ASCII case).
    pub(crate) async fn list_records<T: Record>(
        &self,
        account_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<T>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE account_id = $1 AND id > $2 AND ($3 IS NULL OR lower(name) LIKE $4 ESCAPE '\\') \
             ORDER BY id LIMIT $5",
            T::COLUMNS,
            T::TABLE
        );
        let pattern = name.map(like_pattern);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(page.after.as_deref().unwrap_or(""))
            .bind(pattern.as_deref())
            .bind(pattern.as_deref())
            .bind(page_limit(page.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(T::from_row).collect())
    }

    pub(crate) async fn delete_record<T: Record>(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        for sql in T::ON_DELETE {
            sqlx::query(*sql).bind(id).bind(account_id).execute(&mut *tx).await?;
        }
        let sql = format!("DELETE FROM {} WHERE id = $1 AND account_id = $2", T::TABLE);
        let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    /// Of `ids`, those the account has in `T`'s table.
    pub(crate) async fn existing_ids<T: Record>(
        &self,
        account_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("SELECT id FROM {} WHERE account_id = ", T::TABLE));
        qb.push_bind(account_id.to_owned()).push(" AND id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(id.clone());
        }
        qb.push(")");
        Ok(qb.build().fetch_all(&self.pool).await?.iter().map(|r| r.get(0)).collect())
    }

    /// Creates `new_links` and appends them and `link_ids` (which must be the account's) to
    /// the list, in one transaction; links already in the list stay where they are.
    pub async fn add_to_link_list(
        &self,
        account_id: &str,
        list_id: &str,
        new_links: &[Link],
        link_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let start: i64 = sqlx::query(
            "SELECT CAST(coalesce(max(position), 0) AS BIGINT) FROM link_list_links WHERE list_id = $1 AND account_id = $2",
        )
        .bind(list_id)
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        for link in new_links {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("INSERT INTO links ({}) VALUES (", Link::COLUMNS));
            link.push_values(&mut qb.separated(", "));
            qb.push(")");
            qb.build().execute(&mut *tx).await?;
        }
        let ids = new_links.iter().map(|l| &l.id).chain(link_ids);
        for (position, link_id) in (start + 1..).zip(ids) {
            sqlx::query(
                "INSERT INTO link_list_links (list_id, link_id, account_id, position) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(list_id)
            .bind(link_id)
            .bind(account_id)
            .bind(position)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE link_lists SET updated_at = $1 WHERE id = $2 AND account_id = $3")
            .bind(textbird_types::now_millis())
            .bind(list_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_from_link_list(
        &self,
        account_id: &str,
        list_id: &str,
        link_id: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM link_list_links WHERE list_id = $1 AND link_id = $2 AND account_id = $3")
            .bind(list_id)
            .bind(link_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The links of a list, in order.
    pub async fn link_list_links(&self, account_id: &str, list_id: &str) -> Result<Vec<Link>, StoreError> {
        let columns = Link::COLUMNS.split(", ").map(|c| format!("l.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns} FROM link_list_links m JOIN links l ON l.id = m.link_id AND l.account_id = m.account_id \
             WHERE m.list_id = $1 AND m.account_id = $2 ORDER BY m.position"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(list_id).bind(account_id).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(Link::from_row).collect())
    }

    pub async fn insert_short_links(&self, links: &[ShortLink]) -> Result<(), StoreError> {
        for chunk in links.chunks(SHORT_LINKS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                "INSERT INTO short_links (code, account_id, message_id, batch_id, phone, kind, link_id, url, created_at) ",
            );
            qb.push_values(chunk, |mut q, s| {
                q.push_bind(s.code.clone())
                    .push_bind(s.account_id.clone())
                    .push_bind(s.message_id.clone())
                    .push_bind(s.batch_id.clone())
                    .push_bind(s.phone.clone())
                    .push_bind(s.kind.as_str())
                    .push_bind(s.link_id.clone())
                    .push_bind(s.url.clone())
                    .push_bind(s.created_at);
            });
            qb.build().execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Takes back the short links minted for a send that was then not stored.
    pub async fn delete_short_links(&self, account_id: &str, batch_id: &str) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM short_links WHERE account_id = $1 AND batch_id = $2")
            .bind(account_id)
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Records a click on the short link `code` and queues its `link.clicked` webhooks in one
    /// transaction: the link and whether this was its unique click, or `None` for an unknown
    /// code.
    pub async fn record_click(&self, click: &NewClick) -> Result<Option<(ShortLinkTarget, bool)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT {SHORT_LINK_COLUMNS}, l.bot_redirect, l.preview_url FROM short_links s \
             LEFT JOIN links l ON l.id = s.link_id AND l.account_id = s.account_id WHERE s.code = $1"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&click.code).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let target = ShortLinkTarget { link: short_link(&row), bot_redirect: row.get(9), preview_url: row.get(10) };
        let unique = click.counts_as_unique
            && sqlx::query("UPDATE short_links SET first_clicked_at = $1 WHERE code = $2 AND first_clicked_at IS NULL")
                .bind(click.at)
                .bind(&click.code)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        let s = &target.link;
        sqlx::query(
            "INSERT INTO link_clicks (id, code, account_id, is_unique, user_agent_class, clicked_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&click.id)
        .bind(&click.code)
        .bind(&s.account_id)
        .bind(unique)
        .bind(click.user_agent_class)
        .bind(click.at)
        .execute(&mut *tx)
        .await?;
        let mut fan = Fanout::default();
        let payload = click_payload(s, click, unique);
        fan.webhooks(&self.webhooks, &s.account_id, "link.clicked", None, &payload, click.at);
        let queued = fan.has_deliveries();
        fan.flush(&mut tx).await?;
        tx.commit().await?;
        if queued {
            self.signals.notify_deliveries();
        }
        Ok(Some((target, unique)))
    }

    pub async fn link_report(&self, account_id: &str, by: ReportBy, id: &str) -> Result<LinkReport, StoreError> {
        let column = match by {
            ReportBy::Link => "link_id",
            ReportBy::Batch => "batch_id",
        };
        let links = format!(
            "SELECT count(*), count(first_clicked_at) FROM short_links \
             WHERE account_id = $1 AND {column} = $2 AND kind <> 'unsubscribe'"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(links)).bind(account_id).bind(id).fetch_one(&self.pool).await?;
        let clicks = format!(
            "SELECT count(*) FROM link_clicks c JOIN short_links s ON s.code = c.code \
             WHERE s.account_id = $1 AND s.{column} = $2 AND s.kind <> 'unsubscribe'"
        );
        let total: i64 =
            sqlx::query(sqlx::AssertSqlSafe(clicks)).bind(account_id).bind(id).fetch_one(&self.pool).await?.get(0);
        Ok(LinkReport { recipients: row.get(0), clicks: total, unique_clicks: row.get(1) })
    }

    pub async fn find_trigger_by_token(&self, token: &str) -> Result<Option<Trigger>, StoreError> {
        let sql = format!("SELECT {} FROM triggers WHERE token = $1", Trigger::COLUMNS);
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Trigger::from_row))
    }

    /// Fires a trigger (the first firing time is kept) and makes its waiting messages due at
    /// that time plus their delay, their validity moved along; the number of messages released.
    pub async fn fire_trigger(&self, account_id: &str, id: &str, at: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let fired: Option<i64> = sqlx::query(
            "UPDATE triggers SET fired_at = coalesce(fired_at, $1), updated_at = $2 WHERE id = $3 AND account_id = $4 \
             RETURNING fired_at",
        )
        .bind(at)
        .bind(at)
        .bind(id)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.get(0));
        let Some(fired) = fired else {
            return Ok(0);
        };
        let released = sqlx::query(
            "UPDATE messages SET next_attempt_at = $1 + coalesce(trigger_delay_ms, 0), \
             send_at = $2 + coalesce(trigger_delay_ms, 0), \
             valid_until = valid_until + ($3 + coalesce(trigger_delay_ms, 0) - created_at), updated_at = $4 \
             WHERE trigger_id = $5 AND account_id = $6 AND status = 'scheduled' AND next_attempt_at = $7",
        )
        .bind(fired)
        .bind(fired)
        .bind(fired)
        .bind(at)
        .bind(id)
        .bind(account_id)
        .bind(WAITING_FOR_TRIGGER)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if released > 0 {
            self.signals.notify_messages();
        }
        Ok(released)
    }
}

/// The `link.clicked` webhook payload, in the envelope of every other event.
fn click_payload(s: &ShortLink, click: &NewClick, unique: bool) -> String {
    serde_json::json!({
        "type": "link.clicked",
        "timestamp": textbird_types::format_millis(click.at),
        "data": {
            "message_id": s.message_id,
            "batch_id": s.batch_id,
            "link_id": s.link_id,
            "url": s.url,
            "phone": s.phone,
            "clicked_at": textbird_types::format_millis(click.at),
            "unique": unique,
            "user_agent_class": click.user_agent_class,
        }
    })
    .to_string()
}
