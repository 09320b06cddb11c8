-- The telco payment service (seed 004): product catalogues, transactions
-- from consent to settlement, and where each calling service is notified.

-- The URL a calling service (a merchant) is notified at when one of its telco
-- transactions changes state; none until an operator sets one.
ALTER TABLE merchants ADD COLUMN telco_callback_url TEXT;

-- Each service's products: what an itemList id means and costs.
CREATE TABLE telco_products (
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    product_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    currency         TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, product_id)
);

-- One row per telco transaction, beside its ledger payment. The pair
-- (merchant, transactionId) is unique through external_refs.
CREATE TABLE telco_transactions (
    payment_id          BIGINT PRIMARY KEY REFERENCES payments (id),
    merchant_id         TEXT NOT NULL,
    transaction_id      TEXT NOT NULL,
    msisdn              TEXT NOT NULL,
    channel_id          BIGINT NOT NULL,
    is_deliverable      BIGINT NOT NULL,     -- 0 or 1
    is_billing_required BIGINT NOT NULL,     -- 0 or 1
    language            TEXT,
    basket              TEXT NOT NULL,       -- JSON: the items with names, prices, counts, removable, removed
    state               TEXT NOT NULL,       -- payhub_core::TelcoState
    otp_hash            TEXT NOT NULL,       -- SHA-256 of the one-time code sent by SMS
    otp_attempts        BIGINT NOT NULL,
    delivery_address    TEXT,
    billing_address     TEXT,
    carrier_ref         TEXT,                -- the carrier billing system's reservation or charge
    deadline            BIGINT,              -- consent expiry, then reservation expiry
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX telco_transactions_by_reference ON telco_transactions (merchant_id, transaction_id);
CREATE INDEX telco_transactions_by_deadline ON telco_transactions (deadline);
