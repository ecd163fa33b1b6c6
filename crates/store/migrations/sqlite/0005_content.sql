-- Message content: templates, word spinners, links and link lists, triggers; the short links
-- a send mints (one per recipient and link) and their clicks. Every row belongs to an account.

CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX templates_account ON templates(account_id, id);

-- words: a JSON array of strings.
CREATE TABLE spinners (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    words      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX spinners_account ON spinners(account_id, id);

CREATE TABLE links (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    bot_redirect TEXT,
    preview_url  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX links_account ON links(account_id, id);

CREATE TABLE link_lists (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX link_lists_account ON link_lists(account_id, id);

-- The links of a list, in order (position grows as links are added).
CREATE TABLE link_list_links (
    list_id    TEXT NOT NULL,
    link_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    position   BIGINT NOT NULL,
    PRIMARY KEY (list_id, link_id)
);
CREATE INDEX link_list_links_link ON link_list_links(account_id, link_id);

-- token: the secret of the activation URL.
CREATE TABLE triggers (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    token      TEXT NOT NULL UNIQUE,
    fired_at   BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX triggers_account ON triggers(account_id, id);

-- kind: link (to link_id), url (the recipient's own URL) or unsubscribe.
-- first_clicked_at: the first click that was not a bot's (the unique click).
CREATE TABLE short_links (
    code             TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    message_id       TEXT NOT NULL,
    batch_id         TEXT NOT NULL,
    phone            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    link_id          TEXT,
    url              TEXT NOT NULL,
    first_clicked_at BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX short_links_link ON short_links(account_id, link_id);
CREATE INDEX short_links_batch ON short_links(account_id, batch_id);

CREATE TABLE link_clicks (
    id               TEXT PRIMARY KEY,
    code             TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    is_unique        BOOLEAN NOT NULL,
    user_agent_class TEXT NOT NULL,
    clicked_at       BIGINT NOT NULL
);
CREATE INDEX link_clicks_code ON link_clicks(code);

-- Messages waiting for a trigger: scheduled, due only once it fires (then + the delay).
ALTER TABLE messages ADD COLUMN trigger_id TEXT;
ALTER TABLE messages ADD COLUMN trigger_delay_ms BIGINT;
CREATE INDEX messages_trigger ON messages(account_id, trigger_id) WHERE trigger_id IS NOT NULL;
