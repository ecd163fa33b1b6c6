//! Store conformance: what every backend of `textbird_store::Store` must do, written against
//! the public API only. Each body is an `async fn(&Store)` in a module by aggregate; the
//! `conformance!` list below runs every body on a fresh database of each backend built into
//! the suite: `SQLite` in a temporary directory, and PostgreSQL in a schema of its own in the
//! database `TEXTBIRD_TEST_DATABASE_URL` names (skipped, saying so, when it is not set; a
//! failure when `TEXTBIRD_REQUIRE_POSTGRES` is set, as in CI). Time is a parameter of the store's queue operations, so
//! bodies move the clock by passing `now` and `lease_until` instead of sleeping.

mod accounts;
mod broadcasts;
mod fixtures;
mod inbound;
mod people;
mod queue;
mod security;
mod status;

use textbird_store::{OpenOptions, Store};

/// A fresh `SQLite` database in its own temporary directory, removed when dropped.
pub struct SqliteDb {
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl SqliteDb {
    pub async fn open() -> SqliteDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sqlite(&dir.path().join("textbird.db"), &OpenOptions::default())
            .await
            .expect("open SQLite store");
        SqliteDb { store, _dir: dir }
    }
}

/// A fresh PostgreSQL schema, dropped with the guard; `None` when no test database is set.
pub async fn postgres(test: &str) -> Option<(Store, textbird_test_support::postgres::PgScratch)> {
    let scratch = textbird_test_support::postgres::scratch(test)?;
    let store = Store::open_url(&scratch.url, &OpenOptions::default()).await.expect("open PostgreSQL store");
    Some((store, scratch))
}

/// One `#[tokio::test]` per body and backend, named after the body. Attributes written before
/// an entry (`#[ignore = "..."]`) go onto its tests.
macro_rules! conformance {
    ($($(#[$attr:meta])* $module:ident :: $body:ident),* $(,)?) => {
        mod sqlite {
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $body() {
                    let db = crate::SqliteDb::open().await;
                    crate::$module::$body(&db.store).await;
                    db.store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $body() {
                    let Some((store, _schema)) = crate::postgres(stringify!($body)).await else { return };
                    crate::$module::$body(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

conformance! {
    accounts::accept_stores_every_message_of_a_batch_and_debits_once,
    accounts::insufficient_balance_stores_nothing_and_keeps_the_balance,
    accounts::one_poor_request_does_not_fail_its_neighbours,
    accounts::balance_can_never_go_negative,
    accounts::taken_idempotency_key_stores_no_second_message,
    accounts::concurrent_requests_with_one_key_store_one_message,
    accounts::ledger_sums_to_balance_after_10_000_concurrent_accepts,
    queue::claim_leases_up_to_limit_and_never_twice_while_leased,
    queue::expired_lease_hands_message_out_again_as_possible_duplicate,
    queue::accepted_messages_are_handed_to_the_dispatcher_within_its_room,
    queue::reported_message_is_not_handed_out_again,
    queue::retry_returns_message_to_queue_at_retry_at,
    queue::scheduled_message_is_promoted_when_due_and_not_before,
    queue::only_scheduled_messages_can_be_canceled,
    status::terminal_states_never_regress,
    status::refunding_transition_refunds_exactly_once,
    status::refunding_transition_refunds_once_when_repeated_in_one_call,
    status::change_without_refund_keeps_the_price,
    status::changes_for_one_message_in_one_call_apply_in_order,
    status::one_webhook_per_distinct_transition,
    inbound::stop_opts_out_and_start_opts_back_in,
    inbound::sender_scoped_stop_applies_to_that_sender_only,
    inbound::opted_out_reflects_a_keyword_as_soon_as_receive_returns,
    people::contacts_are_unique_by_phone_within_their_account_only,
    people::memberships_join_only_rows_of_one_account,
    people::sender_lists_hold_the_accounts_senders_only,
    people::name_filters_match_substrings_ignoring_case_and_wildcards,
    people::counts_are_of_one_accounts_rows,
    security::login_failures_are_counted_per_subject_within_the_window,
    security::a_batch_exists_for_its_own_account_only,
    security::account_wide_opt_outs_fill_every_page,
    broadcasts::a_chunk_commits_its_progress_with_its_messages_only,
    broadcasts::status_changes_only_from_the_states_named_and_leases_exclude_each_other,
    broadcasts::a_held_batch_is_not_promoted_until_let_go,
    broadcasts::the_transactional_lane_is_claimed_before_the_bulk_lane,
}
