//! The integer and uid aliases vendor dialects show for native objects, and the credentials
//! issued after an account is created (OAuth access tokens, expiring API keys).

use sqlx::{QueryBuilder, Row};

use super::{Conn, Db, DbRow};
use crate::StoreError;
use crate::model::{Alias, NewAlias, NewCredential};

const ALIAS_COLUMNS: &str = "seq, uid, kind, target";
/// Bound parameters per statement stay well under `SQLite`'s limit.
const CHUNK: usize = 150;

fn alias(r: &DbRow) -> Alias {
    Alias { seq: r.get(0), uid: r.get(1), kind: r.get(2), target: r.get(3) }
}

/// Stores a credential on `conn` (inside the caller's transaction, if any).
pub(super) async fn insert_credential(conn: &mut Conn, c: &NewCredential) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO credentials (id, account_id, kind, lookup, secret_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.id)
    .bind(&c.account_id)
    .bind(&c.kind)
    .bind(&c.lookup)
    .bind(&c.secret_hash)
    .bind(c.expires_at)
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

fn select_aliases(account_id: &str, kind: &str, targets: &[&str]) -> QueryBuilder<Db> {
    let mut qb: QueryBuilder<Db> =
        QueryBuilder::new(format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE account_id = "));
    qb.push_bind(account_id).push(" AND kind = ").push_bind(kind).push(" AND target IN (");
    let mut sep = qb.separated(", ");
    for t in targets {
        sep.push_bind(*t);
    }
    qb.push(")");
    qb
}

impl super::SqlStore {
    /// Gives each of `new` an alias unless its target has one (or its uid is taken), then
    /// returns the aliases of all their targets.
    pub async fn ensure_aliases(
        &self,
        account_id: &str,
        kind: &str,
        new: &[NewAlias],
    ) -> Result<Vec<Alias>, StoreError> {
        let mut out = Vec::with_capacity(new.len());
        for chunk in new.chunks(CHUNK) {
            let mut tx = self.begin_write().await?;
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new("INSERT INTO aliases (uid, account_id, kind, target, created_at) ");
            qb.push_values(chunk, |mut b, a| {
                b.push_bind(&a.uid).push_bind(account_id).push_bind(kind).push_bind(&a.target).push_bind(a.created_at);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *tx).await?;
            let targets: Vec<&str> = chunk.iter().map(|a| a.target.as_str()).collect();
            out.extend(select_aliases(account_id, kind, &targets).build().fetch_all(&mut *tx).await?.iter().map(alias));
            tx.commit().await?;
        }
        Ok(out)
    }

    /// The aliases those of `targets` (all of `kind`, all the account's) have.
    pub async fn find_aliases(&self, account_id: &str, kind: &str, targets: &[&str]) -> Result<Vec<Alias>, StoreError> {
        let mut out = Vec::with_capacity(targets.len());
        for chunk in targets.chunks(CHUNK) {
            out.extend(select_aliases(account_id, kind, chunk).build().fetch_all(&self.pool).await?.iter().map(alias));
        }
        Ok(out)
    }

    /// The account's alias with this integer id.
    pub async fn find_alias_by_seq(&self, account_id: &str, seq: i64) -> Result<Option<Alias>, StoreError> {
        let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE seq = $1 AND account_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(seq).bind(account_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(alias))
    }

    /// The account's alias with this uid.
    pub async fn find_alias_by_uid(&self, account_id: &str, uid: &str) -> Result<Option<Alias>, StoreError> {
        let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE uid = $1 AND account_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(uid).bind(account_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(alias))
    }

    /// Stores one more credential for an existing account.
    pub async fn insert_credential(&self, c: &NewCredential) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_credential(&mut conn, c).await
    }

    /// Revokes the account's live credentials of `kind`; how many there were.
    pub async fn revoke_credentials(&self, account_id: &str, kind: &str, now: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE credentials SET revoked_at = $1 WHERE account_id = $2 AND kind = $3 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(now)
        .bind(account_id)
        .bind(kind)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Deletes credentials that expired before `before` (access tokens pile up otherwise).
    pub async fn purge_expired_credentials(&self, before: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM credentials WHERE expires_at IS NOT NULL AND expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
