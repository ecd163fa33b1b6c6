-- Core gateway schema (PostgreSQL; the same tables, columns and indexes as migrations/sqlite).
-- Times are epoch milliseconds, money is integer millionths.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    balance       BIGINT NOT NULL CHECK (balance >= 0),
    country       TEXT NOT NULL,
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- Signs webhooks sent to a message's own callback_url.
    callback_secret TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- API keys, API tokens and OAuth clients. Only hashes of secrets are kept.
CREATE TABLE credentials (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL,
    lookup      TEXT NOT NULL UNIQUE,
    secret_hash TEXT,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX credentials_account ON credentials(account_id);

-- Every change to a balance, so the ledger always sums to it.
CREATE TABLE ledger (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    amount     BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    message_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_account ON ledger(account_id);
-- A message is refunded at most once.
CREATE UNIQUE INDEX ledger_one_refund ON ledger(message_id) WHERE reason = 'refund';

CREATE TABLE rates (
    prefix TEXT PRIMARY KEY,
    price  BIGINT NOT NULL CHECK (price >= 0)
);

CREATE TABLE numbers (
    number     TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX numbers_account ON numbers(account_id);

-- Opt-outs: sender '' means the whole account.
CREATE TABLE opt_outs (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    phone      TEXT NOT NULL,
    sender     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, phone, sender)
);

-- The message row is also its queue entry: status + next_attempt_at + lease.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    batch_id        TEXT NOT NULL,
    to_number       TEXT NOT NULL,
    sender          TEXT NOT NULL,
    body            TEXT NOT NULL,
    encoding        TEXT NOT NULL,
    parts           INTEGER NOT NULL,
    price           BIGINT NOT NULL,
    status          TEXT NOT NULL,
    client_ref      TEXT,
    callback_url    TEXT,
    send_at         BIGINT,
    valid_until     BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    connector       TEXT,
    carrier_id      TEXT,
    error_code      TEXT,
    error_detail    TEXT,
    possible_duplicate BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- A claimed message has next_attempt_at = its lease expiry, so the due index skips leased rows.
CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_scheduled ON messages(next_attempt_at) WHERE status = 'scheduled';
CREATE INDEX messages_account ON messages(account_id, id);
CREATE INDEX messages_account_to ON messages(account_id, to_number);
CREATE INDEX messages_client_ref ON messages(account_id, client_ref) WHERE client_ref IS NOT NULL;
CREATE INDEX messages_carrier ON messages(connector, carrier_id) WHERE carrier_id IS NOT NULL;

CREATE TABLE message_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    detail     TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX message_events_message ON message_events(message_id);

CREATE TABLE inbound_messages (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    from_number TEXT NOT NULL,
    to_number   TEXT NOT NULL,
    body        TEXT NOT NULL,
    connector   TEXT NOT NULL,
    keyword     TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX inbound_account ON inbound_messages(account_id, id);

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_until  BIGINT,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    failing_since   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhooks_account ON webhooks(account_id);

-- The webhook outbox (a claimed delivery's next_attempt_at is its lease expiry): written in the same transaction as the event it announces.
-- webhook_id is NULL for a message's own callback_url.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    webhook_id      TEXT,
    url             TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_account ON webhook_deliveries(account_id, id);

CREATE TABLE webhook_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);

CREATE TABLE idempotency_keys (
    account_id    TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, credential_id, key)
);
CREATE INDEX idempotency_created ON idempotency_keys(created_at);
