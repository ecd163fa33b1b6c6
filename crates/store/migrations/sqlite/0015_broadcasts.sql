-- Broadcasts: one message to a whole audience, expanded in chunks. A broadcast's messages
-- are the messages whose batch_id is its id; `position` is where expansion reads on, and it is
-- advanced in the transaction that stores each chunk's messages, so a restart resumes
-- exactly where the last committed chunk ended.
CREATE TABLE broadcasts (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    -- expanding, running, paused, canceled, completed
    status        TEXT NOT NULL,
    pause_reason  TEXT,
    -- The request as accepted (audience, content, schedule), JSON.
    spec          TEXT NOT NULL,
    send_at       BIGINT,
    recipients    BIGINT NOT NULL,
    read_count    BIGINT NOT NULL DEFAULT 0,
    expanded      BIGINT NOT NULL DEFAULT 0,
    skipped_duplicate    BIGINT NOT NULL DEFAULT 0,
    skipped_opted_out    BIGINT NOT NULL DEFAULT 0,
    skipped_unsubscribed BIGINT NOT NULL DEFAULT 0,
    skipped_invalid      BIGINT NOT NULL DEFAULT 0,
    -- Recipients the frequency cap left out.
    skipped_frequency_cap BIGINT NOT NULL DEFAULT 0,
    -- Messages whose send time quiet hours moved.
    deferred      BIGINT NOT NULL DEFAULT 0,
    total_price   BIGINT NOT NULL DEFAULT 0,
    position      TEXT NOT NULL DEFAULT '',
    -- The worker expanding it (one at a time, whichever node), until when.
    lease_owner   TEXT,
    lease_until   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    completed_at  BIGINT
);
CREATE INDEX broadcasts_account ON broadcasts(account_id, id);
CREATE INDEX broadcasts_open ON broadcasts(status) WHERE status IN ('expanding', 'running');

-- Queue lanes: 0 verification, 1 transactional, 2 bulk (broadcasts); claimed in that order.
ALTER TABLE messages ADD COLUMN lane INTEGER NOT NULL DEFAULT 1;
CREATE INDEX messages_due_lane ON messages(lane, next_attempt_at) WHERE status = 'queued';
-- Whether a number already has a broadcast's message (expansion de-duplicates across chunks).
CREATE INDEX messages_batch_to ON messages(batch_id, to_number);

-- The segments of a segmented broadcast (`manual` or `ctr`): each is a number of messages,
-- expanded in turn. A segment's messages are the broadcast's messages created from its
-- `started_at` until the next segment's.
CREATE TABLE broadcast_segments (
    broadcast_id TEXT NOT NULL REFERENCES broadcasts(id),
    idx          INTEGER NOT NULL,
    size         BIGINT NOT NULL,
    expanded     BIGINT NOT NULL DEFAULT 0,
    -- A text for this segment instead of the broadcast's.
    body         TEXT,
    template_id  TEXT,
    send_at      BIGINT,
    started_at   BIGINT NOT NULL,
    -- When its last message was stored.
    completed_at BIGINT,
    PRIMARY KEY (broadcast_id, idx)
);

-- Campaigns group broadcasts; every account has one default campaign (made when first
-- needed). A campaign outside its date window takes no new broadcasts.
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    start_date  BIGINT,
    end_date    BIGINT,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX campaigns_account ON campaigns(account_id, id);
CREATE UNIQUE INDEX campaigns_one_default ON campaigns(account_id) WHERE is_default;
ALTER TABLE broadcasts ADD COLUMN campaign_id TEXT;
CREATE INDEX broadcasts_campaign ON broadcasts(account_id, campaign_id);
