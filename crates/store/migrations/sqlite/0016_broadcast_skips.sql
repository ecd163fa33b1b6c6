-- The numbers a broadcast's expansion left out (opted out, unsubscribed, over the frequency
-- cap), written with the chunk that read them, so a later occurrence of the same number in
-- another source counts as a duplicate, as one that became a message does.
CREATE TABLE broadcast_skips (
    broadcast_id TEXT NOT NULL,
    phone        TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, phone)
);
