-- How each TMF676 refund of an APS payment was given back (issue 9). A
-- refund is split card first, then credit (payhub_core::credit::split_refund):
-- card_minor goes back to the card through the payment's gateway
-- (gateway_refunds), credit_minor was added to the account's credit in the
-- transaction that recorded the refund. Credit given back is never taken
-- again, so credit_minor counts against the payment's credit part whatever
-- the refund's status; card_minor counts only while the refund counts
-- (pending or done). Refunds from before this table have no row: they went
-- to the card alone.
CREATE TABLE aps_refunds (
    refund_id    BIGINT PRIMARY KEY REFERENCES refunds (id),
    payment_id   BIGINT NOT NULL REFERENCES aps_payments (payment_id),
    aps_id       TEXT NOT NULL REFERENCES aps_accounts (aps_id),
    card_minor   BIGINT NOT NULL CHECK (card_minor >= 0),
    credit_minor BIGINT NOT NULL CHECK (credit_minor >= 0),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX aps_refunds_by_payment ON aps_refunds (payment_id);
