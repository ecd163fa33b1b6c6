//! What SMPP customers are owed, kept in the database until they take it: receipts of final
//! messages submitted with `registered_delivery` and inbound messages of accounts that bind
//! receivers (`smpp_state` 1), taken (2) once the customer answered the `deliver_sm`, given up
//! on (3) past the configured age.

use sqlx::{QueryBuilder, Row};

use super::Db;
use super::rows::{self, INBOUND_COLUMNS, MESSAGE_COLUMNS};
use crate::StoreError;
use crate::model::{Inbound, Message};

/// `smpp_state` of what is owed, taken and given up on.
pub(super) const OWED: i64 = 1;
const TAKEN: i64 = 2;
const GIVEN_UP: i64 = 3;

impl super::SqlStore {
    /// Remembers that the account binds receivers (from `at`, epoch ms), so that its inbound
    /// messages are kept for it.
    pub async fn note_smpp_receiver(&self, account_id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO smpp_receivers (account_id, first_bound_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(account_id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account's final messages whose receipts it awaits over SMPP, finished before
    /// `before` (epoch ms), oldest first.
    pub async fn owed_receipts(&self, account_id: &str, before: i64, limit: u32) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND smpp_state = {OWED} \
             AND updated_at < $2 AND status IN {} ORDER BY updated_at LIMIT ($3 + 0)",
            super::batch::TERMINAL
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(rows::message).collect())
    }

    /// The account's inbound messages not yet taken over SMPP, received before `before`,
    /// oldest first.
    pub async fn owed_inbound(&self, account_id: &str, before: i64, limit: u32) -> Result<Vec<Inbound>, StoreError> {
        let sql = format!(
            "SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE account_id = $1 AND smpp_state = {OWED} \
             AND created_at < $2 ORDER BY created_at, id LIMIT ($3 + 0)"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(rows::inbound).collect())
    }

    /// Records that the customer took these receipts (by message id) and inbound messages.
    pub async fn smpp_taken(&self, receipts: &[String], inbound: &[String]) -> Result<(), StoreError> {
        for (table, ids) in [("messages", receipts), ("inbound_messages", inbound)] {
            for chunk in ids.chunks(500) {
                let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
                    "UPDATE {table} SET smpp_state = {TAKEN} WHERE smpp_state = {OWED} AND id IN ("
                ));
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id);
                }
                qb.push(")");
                qb.build().execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// Gives up on receipts of messages finished, and inbound messages received, before
    /// `before`; how many of each.
    pub async fn smpp_give_up(&self, before: i64) -> Result<(u64, u64), StoreError> {
        let receipts = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET smpp_state = {GIVEN_UP} WHERE smpp_state = {OWED} AND updated_at < $1 AND status IN {}",
            super::batch::TERMINAL
        )))
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let inbound = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE inbound_messages SET smpp_state = {GIVEN_UP} WHERE smpp_state = {OWED} AND created_at < $1"
        )))
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((receipts, inbound))
    }

    /// Receipts (of final messages) and inbound messages owed over SMPP, for the gauges.
    pub async fn smpp_owed_counts(&self) -> Result<(u64, u64), StoreError> {
        let receipts: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM messages WHERE smpp_state = {OWED} AND status IN {}",
            super::batch::TERMINAL
        )))
        .fetch_one(&self.pool)
        .await?
        .get(0);
        let inbound: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM inbound_messages WHERE smpp_state = {OWED}"
        )))
        .fetch_one(&self.pool)
        .await?
        .get(0);
        Ok((receipts.try_into().unwrap_or(0), inbound.try_into().unwrap_or(0)))
    }
}
