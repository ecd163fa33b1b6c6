//! Row to record mapping, shared by the reads and the writer.

use super::DbRow;
use sqlx::Row;

use crate::model::{Account, Delivery, Inbound, Message, Webhook};

/// Columns `message` expects, in order.
pub(super) const MESSAGE_COLUMNS: &str = "id, account_id, batch_id, to_number, sender, body, encoding, parts, price, \
     status, client_ref, callback_url, send_at, valid_until, attempts, connector, carrier_id, \
     error_code, error_detail, possible_duplicate, created_at, updated_at, smpp_ref";

pub(super) fn message(r: &DbRow) -> Message {
    Message {
        id: r.get(0),
        account_id: r.get(1),
        batch_id: r.get(2),
        to: r.get(3),
        sender: r.get(4),
        body: r.get(5),
        encoding: r.get(6),
        parts: r.get(7),
        price: r.get(8),
        status: r.get(9),
        client_ref: r.get(10),
        callback_url: r.get(11),
        send_at: r.get(12),
        valid_until: r.get(13),
        attempts: r.get(14),
        connector: r.get(15),
        carrier_id: r.get(16),
        error_code: r.get(17),
        error_detail: r.get(18),
        possible_duplicate: r.get(19),
        created_at: r.get(20),
        updated_at: r.get(21),
        smpp_ref: r.get(22),
    }
}

pub(super) const ACCOUNT_COLUMNS: &str =
    "id, name, balance, country, timezone, is_admin, username, password_hash, created_at";

pub(super) fn account(r: &DbRow) -> Account {
    account_at(r, 0)
}

/// An account whose columns start at `o`.
pub(super) fn account_at(r: &DbRow, o: usize) -> Account {
    Account {
        id: r.get(o),
        name: r.get(o + 1),
        balance: r.get(o + 2),
        country: r.get(o + 3),
        timezone: r.get(o + 4),
        is_admin: r.get(o + 5),
        username: r.get(o + 6),
        password_hash: r.get(o + 7),
        created_at: r.get(o + 8),
    }
}

pub(super) const WEBHOOK_COLUMNS: &str = "id, account_id, url, events, secret, previous_secret, previous_until, \
     enabled, disabled_reason, failing_since, created_at, updated_at, format";

pub(super) fn webhook(r: &DbRow) -> Webhook {
    let events: String = r.get(3);
    Webhook {
        id: r.get(0),
        account_id: r.get(1),
        url: r.get(2),
        events: events.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect(),
        secret: r.get(4),
        previous_secret: r.get(5),
        previous_until: r.get(6),
        enabled: r.get(7),
        disabled_reason: r.get(8),
        failing_since: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
        format: r.get(12),
    }
}

pub(super) const DELIVERY_COLUMNS: &str = "id, webhook_id, url, event_type, payload, state, attempts, \
     next_attempt_at, last_status, last_error, created_at";

pub(super) fn delivery(r: &DbRow) -> Delivery {
    Delivery {
        id: r.get(0),
        webhook_id: r.get(1),
        url: r.get(2),
        event_type: r.get(3),
        payload: r.get(4),
        state: r.get(5),
        attempts: r.get(6),
        next_attempt_at: r.get(7),
        last_status: r.get(8),
        last_error: r.get(9),
        created_at: r.get(10),
    }
}

pub(super) const INBOUND_COLUMNS: &str = "id, from_number, to_number, body, connector, keyword, created_at";

pub(super) fn inbound(r: &DbRow) -> Inbound {
    Inbound {
        id: r.get(0),
        from: r.get(1),
        to: r.get(2),
        body: r.get(3),
        connector: r.get(4),
        keyword: r.get(5),
        created_at: r.get(6),
    }
}

/// Limit for a page: at least 1, at most `MAX_PAGE`.
pub(super) fn page_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_PAGE))
}

pub(super) const MAX_PAGE: u32 = 1000;
