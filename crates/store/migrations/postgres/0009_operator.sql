-- Operator controls. A suspended account's credentials stop working (its data stays).
ALTER TABLE accounts ADD COLUMN suspended_at BIGINT;

-- Connectors an operator paused: no node hands them messages until resumed. The bind stays up.
CREATE TABLE connector_pauses (
    name      TEXT PRIMARY KEY,
    paused_at BIGINT NOT NULL
);

-- API keys managed through /v1/keys: a name, the scopes they may use (NULL: every scope) and
-- the first characters of the key, which identify it in lists and logs.
ALTER TABLE credentials ADD COLUMN name TEXT;
ALTER TABLE credentials ADD COLUMN scopes TEXT;
ALTER TABLE credentials ADD COLUMN prefix TEXT;

-- Usage per account per day reads messages by creation time.
CREATE INDEX messages_account_created ON messages(account_id, created_at);
