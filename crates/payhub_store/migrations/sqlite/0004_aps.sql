-- The APS PaymentManagement dialect (seed 001): customer accounts with
-- available credit, their stored payment methods, and what each APS payment
-- spent from credit. The payments themselves are ledger payments.

-- One APS PaymentManagement resource per customer account of a merchant.
-- The balance can never go below zero: payments debit it with a conditional
-- UPDATE in the transaction that records them, and this CHECK backs that up.
CREATE TABLE aps_accounts (
    aps_id                 TEXT PRIMARY KEY,           -- the APS resource id (a UUID)
    merchant_id            TEXT NOT NULL REFERENCES merchants (id),
    account_id             TEXT NOT NULL,              -- the customer account UUID (APSPayment.accountId)
    currency               TEXT NOT NULL,              -- ISO 4217; every payment of the account is in it
    available_credit_minor BIGINT NOT NULL DEFAULT 0 CHECK (available_credit_minor >= 0),
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE UNIQUE INDEX aps_accounts_by_account ON aps_accounts (merchant_id, account_id);

-- Payment methods charged without the customer (paymentMethodId): a card
-- saved when the customer paid on the hosted page, or a wallet agreement.
-- Never a card number or CVC: a token, the brand and first six / last four.
CREATE TABLE aps_payment_methods (
    id         BIGINT PRIMARY KEY,                     -- APS paymentMethodId
    aps_id     TEXT NOT NULL REFERENCES aps_accounts (aps_id),
    kind       TEXT NOT NULL CHECK (kind IN ('card', 'wallet')),
    gateway    TEXT NOT NULL,                          -- VMPAY, WXPAY, …
    token      TEXT NOT NULL,
    brand      TEXT,
    first6     TEXT,
    last4      TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX aps_payment_methods_by_account ON aps_payment_methods (aps_id, id);

-- One row per APS payment: how its total was covered. credit_state is
-- 'none' (no credit spent), 'held' (spent) or 'returned' (given back once,
-- when the payment-method part failed, in the same transaction as that change).
CREATE TABLE aps_payments (
    payment_id        BIGINT PRIMARY KEY REFERENCES payments (id),
    aps_id            TEXT NOT NULL REFERENCES aps_accounts (aps_id),
    merchant_id       TEXT NOT NULL,
    credit_minor      BIGINT NOT NULL CHECK (credit_minor >= 0),
    method_minor      BIGINT NOT NULL CHECK (method_minor >= 0),
    credit_state      TEXT NOT NULL CHECK (credit_state IN ('none', 'held', 'returned')),
    payment_method_id BIGINT,                          -- the stored method charged, or saved on success
    save_method       BIGINT NOT NULL DEFAULT 0,       -- 1: save the hosted page's card when it succeeds
    notify_url        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX aps_payments_by_account ON aps_payments (aps_id, payment_id);

-- The hosted page now knows where to send the customer after a failure
-- (APS callbackUrlFail) as well as after success (return_url).
ALTER TABLE gateway_payments ADD COLUMN fail_url TEXT;
