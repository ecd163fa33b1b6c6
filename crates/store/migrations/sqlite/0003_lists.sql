-- Recipient lists and unsubscribe lists: numbers with the data templates read. One table
-- for both kinds, so importing, previewing, exporting and paging work the same for each.
CREATE TABLE lists (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    -- 'recipients' or 'unsubscribe'.
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX lists_account ON lists(account_id, kind, id);

-- A number is in a list once. import_id marks the rows one import added, so a failed import
-- can take back exactly what it wrote.
CREATE TABLE list_members (
    list_id    TEXT NOT NULL,
    phone      TEXT NOT NULL,
    first_name TEXT,
    last_name  TEXT,
    email      TEXT,
    url        TEXT,
    custom     TEXT,
    custom1    TEXT,
    custom2    TEXT,
    custom3    TEXT,
    custom4    TEXT,
    import_id  TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, phone)
);
