-- The ids vendor API dialects show for native objects (messages, inbound messages, contacts,
-- contact groups): an integer (`seq`, never reused) and a 13-hex-character uid. Assigned the
-- first time a dialect shows an object; the native id stays the object's identity.
CREATE TABLE aliases (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    uid        TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, target)
);
CREATE INDEX aliases_account ON aliases(account_id);

-- The shape an endpoint's deliveries are posted in: `native`, or a vendor dialect's own
-- (`cloudware`: dialect 003's message webhooks).
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'native';
