-- One-time-password verifications. The code itself is never stored in the clear: `code_hash`
-- is a keyed hash (HMAC-SHA256) of the verification id and the code, and `code_sealed` holds
-- the code encrypted for re-sending it (under `[secrets] key` when configured).
CREATE TABLE verifications (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    phone       TEXT NOT NULL,
    -- pending | approved | expired | max_attempts_reached | canceled
    status      TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    code_sealed TEXT NOT NULL,
    code_length INTEGER NOT NULL,
    checks      INTEGER NOT NULL DEFAULT 0,
    sends       INTEGER NOT NULL DEFAULT 0,
    is_test     BOOLEAN NOT NULL DEFAULT FALSE,
    message_id  TEXT,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX verifications_account ON verifications(account_id, id);
CREATE INDEX verifications_phone ON verifications(account_id, phone, status);

-- Every send of a verification code (the first and each re-send), for the per-number send
-- limit and the per-prefix velocity and conversion guards. `prefix` is the destination's
-- first six digits; `client` is a hash of the requesting client address (or empty).
CREATE TABLE verification_sends (
    verification_id TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    phone           TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    client          TEXT NOT NULL,
    message_id      TEXT,
    sent_at         BIGINT NOT NULL
);
CREATE INDEX verification_sends_phone ON verification_sends(account_id, phone, sent_at);
CREATE INDEX verification_sends_prefix ON verification_sends(account_id, prefix, sent_at);
CREATE INDEX verification_sends_client ON verification_sends(account_id, client, sent_at);

-- Destination prefixes the fraud guard blocked for an account, until `blocked_until`.
CREATE TABLE prefix_blocks (
    account_id    TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    blocked_at    BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    PRIMARY KEY (account_id, prefix)
);

-- The text a message really carries when its stored body is masked (a verification code):
-- sealed, read only when the message is handed to its carrier.
CREATE TABLE message_secrets (
    message_id TEXT PRIMARY KEY,
    sealed     TEXT NOT NULL
);


-- An account's own fraud settings, narrowing the operator's `[fraud]` defaults. NULL: the
-- operator's value. `allowed_countries` is a comma-separated list of ISO codes.
CREATE TABLE account_fraud_settings (
    account_id        TEXT PRIMARY KEY,
    allowed_countries TEXT,
    daily_spend_cap   BIGINT,
    updated_at        BIGINT NOT NULL
);
