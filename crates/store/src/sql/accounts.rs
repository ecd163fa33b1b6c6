//! Accounts, credentials, the ledger, rates, owned numbers and opt-outs.

use sqlx::{QueryBuilder, Row};

use super::Db;

use super::rows::{self, ACCOUNT_COLUMNS, page_limit};
use crate::model::{Account, Credential, NewAccount, NewCredential, OptOut, OwnedNumber, Page, Rate};
use crate::{Sealed, StoreError, opt_out_cache};

impl super::SqlStore {
    pub async fn create_account(&self, a: &NewAccount, credentials: &[NewCredential]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO accounts (id, name, balance, country, timezone, is_admin, username, password_hash, \
             callback_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&a.id)
        .bind(&a.name)
        .bind(a.balance)
        .bind(&a.country)
        .bind(&a.timezone)
        .bind(a.is_admin)
        .bind(&a.username)
        .bind(&a.password_hash)
        .bind(self.keyring.seal(&a.callback_secret, Sealed::CallbackSecret))
        .bind(a.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_to_conflict(e, "an account with this username exists"))?;
        if a.balance != 0 {
            sqlx::query(
                "INSERT INTO ledger (account_id, amount, reason, created_at) VALUES ($1, $2, 'opening balance', $3)",
            )
            .bind(&a.id)
            .bind(a.balance)
            .bind(a.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for c in credentials {
            super::aliases::insert_credential(&mut tx, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT count(*) FROM accounts").fetch_one(&self.pool).await?.get(0))
    }

    pub async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?.iter().map(rows::account).collect())
    }

    pub async fn find_account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?.as_ref().map(rows::account))
    }

    pub async fn find_account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::account))
    }

    pub async fn find_credential(&self, lookup: &str, now: i64) -> Result<Option<Credential>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, kind, secret_hash, expires_at FROM credentials \
             WHERE lookup = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(lookup)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Credential {
            id: r.get(0),
            account_id: r.get(1),
            kind: r.get(2),
            secret_hash: r.get(3),
            expires_at: r.get(4),
        }))
    }

    /// The live credential with this lookup value and the account it belongs to, in one read.
    pub async fn find_principal(&self, lookup: &str, now: i64) -> Result<Option<(Credential, Account)>, StoreError> {
        let sql = format!(
            "SELECT c.id, c.account_id, c.kind, c.secret_hash, c.expires_at, {} FROM credentials c \
             JOIN accounts a ON a.id = c.account_id \
             WHERE c.lookup = $1 AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > $2)",
            ACCOUNT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(lookup).bind(now).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| {
            let credential = Credential {
                id: r.get(0),
                account_id: r.get(1),
                kind: r.get(2),
                secret_hash: r.get(3),
                expires_at: r.get(4),
            };
            (credential, rows::account_at(&r, 5))
        }))
    }

    /// Credits (or, negative, debits) an account with a ledger row; returns the new balance.
    pub async fn adjust_balance(&self, account_id: &str, amount: i64, reason: &str) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2 RETURNING balance")
            .bind(amount)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| match e.as_database_error() {
                Some(d) if d.is_check_violation() => StoreError::Conflict("balance cannot go negative".into()),
                _ => e.into(),
            })?
            .ok_or_else(|| StoreError::Conflict("no such account".into()))?;
        sqlx::query("INSERT INTO ledger (account_id, amount, reason, created_at) VALUES ($1, $2, $3, $4)")
            .bind(account_id)
            .bind(amount)
            .bind(reason)
            .bind(textbird_types::now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.get(0))
    }

    pub async fn ledger_sum(&self, account_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT CAST(coalesce(sum(amount), 0) AS BIGINT) FROM ledger WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&self.pool)
            .await?
            .get(0))
    }

    pub async fn list_rates(&self) -> Result<Vec<Rate>, StoreError> {
        let rows = sqlx::query("SELECT prefix, price FROM rates ORDER BY prefix").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| Rate { prefix: r.get(0), price: r.get(1) }).collect())
    }

    pub async fn upsert_rates(&self, rates: &[Rate]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for chunk in rates.chunks(500) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("INSERT INTO rates (prefix, price) ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.prefix).push_bind(r.price);
            });
            qb.push(" ON CONFLICT (prefix) DO UPDATE SET price = excluded.price");
            n += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    pub async fn add_number(&self, account_id: &str, number: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO numbers (number, account_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(number)
        .bind(account_id)
        .bind(textbird_types::now_millis())
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            // Ours already is fine; another account's is a conflict that must not reveal the owner.
            let owner = self.find_number_owner(number).await?;
            return if owner.as_deref() == Some(account_id) {
                Ok(false)
            } else {
                Err(StoreError::Conflict("this number is not available".into()))
            };
        }
        Ok(true)
    }

    pub async fn remove_number(&self, account_id: &str, number: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM numbers WHERE number = $1 AND account_id = $2")
            .bind(number)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn list_numbers(&self, account_id: &str) -> Result<Vec<OwnedNumber>, StoreError> {
        let rows = sqlx::query("SELECT number, created_at FROM numbers WHERE account_id = $1 ORDER BY number")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| OwnedNumber { number: r.get(0), created_at: r.get(1) }).collect())
    }

    pub async fn find_number_owner(&self, number: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT account_id FROM numbers WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn opted_out(&self, account_id: &str, sender: &str, phones: &[&str]) -> Result<Vec<String>, StoreError> {
        if let Some(entries) = self.opt_outs.get(account_id) {
            return Ok(opt_out_cache::matching(&entries, sender, phones));
        }
        let generation = self.opt_outs.generation();
        let limit = i64::try_from(opt_out_cache::MAX_CACHED).unwrap_or(i64::MAX) + 1;
        let rows = sqlx::query("SELECT phone, sender FROM opt_outs WHERE account_id = $1 LIMIT $2")
            .bind(account_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        if rows.len() <= opt_out_cache::MAX_CACHED {
            let entries: opt_out_cache::Entries = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let found = opt_out_cache::matching(&entries, sender, phones);
            self.opt_outs.put(account_id, std::sync::Arc::new(entries), generation);
            return Ok(found);
        }
        let mut out = Vec::new();
        for chunk in phones.chunks(500) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT DISTINCT phone FROM opt_outs WHERE account_id = ");
            qb.push_bind(account_id).push(" AND (sender = '' OR sender = ").push_bind(sender).push(") AND phone IN (");
            let mut sep = qb.separated(", ");
            for p in chunk {
                sep.push_bind(*p);
            }
            qb.push(")");
            out.extend(qb.build().fetch_all(&self.pool).await?.iter().map(|r| r.get::<String, _>(0)));
        }
        Ok(out)
    }

    /// The account's opt-outs by phone; with `sender`, only those of that sender (`""`: the
    /// account-wide ones). The filter is in the query, so every page is full but the last.
    pub async fn list_opt_outs(
        &self,
        account_id: &str,
        sender: Option<&str>,
        page: &Page,
    ) -> Result<Vec<OptOut>, StoreError> {
        let rows = sqlx::query(
            "SELECT phone, sender, created_at FROM opt_outs WHERE account_id = $1 AND phone > $2 \
             AND ($3 IS NULL OR sender = $3) ORDER BY phone LIMIT $4",
        )
        .bind(account_id)
        .bind(page.after.as_deref().unwrap_or(""))
        .bind(sender)
        .bind(page_limit(page.limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| OptOut { phone: r.get(0), sender: r.get(1), created_at: r.get(2) }).collect())
    }

    pub async fn set_opt_out(
        &self,
        account_id: &str,
        phone: &str,
        sender: &str,
        opted_out: bool,
    ) -> Result<bool, StoreError> {
        let r = if opted_out {
            sqlx::query("INSERT INTO opt_outs (account_id, phone, sender, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(account_id)
                .bind(phone)
                .bind(sender)
                .bind(textbird_types::now_millis())
                .execute(&self.pool)
                .await?
        } else {
            sqlx::query("DELETE FROM opt_outs WHERE account_id = $1 AND phone = $2 AND sender = $3")
                .bind(account_id)
                .bind(phone)
                .bind(sender)
                .execute(&self.pool)
                .await?
        };
        self.opt_outs.invalidate(account_id);
        super::announce(&self.pool, &format!("opt_outs:{account_id}")).await?;
        Ok(r.rows_affected() > 0)
    }
}

pub(super) fn unique_to_conflict(e: sqlx::Error, what: &str) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => e.into(),
    }
}
