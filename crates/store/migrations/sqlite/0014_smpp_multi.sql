-- The id an SMPP customer knows a message by when it is not the message's own: every message
-- of one submit_multi is known by that submission's id, in its receipts, query_sm and
-- cancel_sm. NULL for everything else.
ALTER TABLE messages ADD COLUMN smpp_ref TEXT;
CREATE INDEX messages_smpp_ref ON messages(account_id, smpp_ref) WHERE smpp_ref IS NOT NULL;
