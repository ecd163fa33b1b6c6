-- Contacts, the groups they belong to (each group defines custom fields its members carry),
-- and the senders an account registers, gathered in sender lists. Every row carries its
-- account_id; every query filters by it.

-- fields: a JSON object of string values, checked against the definitions of the contact's groups.
CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    phone       TEXT NOT NULL,
    first_name  TEXT,
    last_name   TEXT,
    email       TEXT,
    reference   TEXT,
    fields      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX contacts_phone ON contacts(account_id, phone);
CREATE INDEX contacts_account ON contacts(account_id, id);

-- fields: a JSON array of {name, type, required}.
CREATE TABLE contact_groups (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    fields      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX contact_groups_account ON contact_groups(account_id, id);

CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES contact_groups(id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, contact_id)
);
CREATE INDEX group_members_contact ON group_members(contact_id);

CREATE TABLE senders (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    value       TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX senders_value ON senders(account_id, value);

CREATE TABLE sender_lists (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX sender_lists_account ON sender_lists(account_id, id);

CREATE TABLE sender_list_members (
    sender_list_id TEXT NOT NULL REFERENCES sender_lists(id) ON DELETE CASCADE,
    sender_id      TEXT NOT NULL REFERENCES senders(id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (sender_list_id, sender_id)
);
CREATE INDEX sender_list_members_sender ON sender_list_members(sender_id);
