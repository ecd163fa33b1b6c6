-- What an SMPP customer is owed, kept until it takes it: a receipt for each message submitted
-- with registered_delivery, once the message is final, and each inbound message for an account
-- that binds receivers. `smpp_state` is NULL for messages nobody awaits over SMPP, 1 while owed,
-- 2 once the customer answered the deliver_sm, 3 when given up on after the configured age.
ALTER TABLE messages ADD COLUMN smpp_state INTEGER;
ALTER TABLE inbound_messages ADD COLUMN smpp_state INTEGER;
CREATE INDEX messages_smpp_owed ON messages(account_id, updated_at) WHERE smpp_state = 1;
CREATE INDEX inbound_smpp_owed ON inbound_messages(account_id, created_at) WHERE smpp_state = 1;

-- Accounts that have bound an SMPP receiver or transceiver: their inbound messages are kept
-- for the next bind.
CREATE TABLE smpp_receivers (
    account_id    TEXT PRIMARY KEY,
    first_bound_at BIGINT NOT NULL
);
