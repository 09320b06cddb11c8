-- Issue 9, telco: several nodes act as one on a telco transaction, and the
-- simulated carrier bill and SMS centre keep their books in the database
-- (before, each process kept its own in memory).

-- Who is acting on a transaction right now (approving it, committing or
-- releasing its reservation), until when. The one that sets it calls the
-- carrier; every other change waits until it is cleared or has lapsed, so a
-- bill is never charged twice for one transaction.
ALTER TABLE telco_transactions ADD COLUMN claim TEXT;
ALTER TABLE telco_transactions ADD COLUMN claimed_until BIGINT;

-- The simulated carrier billing system: per subscriber, what is reserved
-- and what is charged (minor units); the spending limit counts both.
CREATE TABLE carrier_subscribers (
    msisdn         TEXT PRIMARY KEY,
    reserved_minor BIGINT NOT NULL DEFAULT 0,
    charged_minor  BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);

-- Its bookings. `op_key` makes every booking idempotent: the same
-- reservation, charge or credit asked again (a retry, a second node) gets
-- the first one's reference and moves no money.
CREATE TABLE carrier_entries (
    reference    TEXT PRIMARY KEY,              -- rsv_… / chg_… / crd_…
    kind         TEXT NOT NULL,                 -- reservation | charge | credit
    op_key       TEXT NOT NULL,                 -- the payment id (reservation, charge) or refund id (credit)
    msisdn       TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    state        TEXT NOT NULL,                 -- open | committed | released (reservations); done
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX carrier_entries_by_key ON carrier_entries (kind, op_key);

-- The simulated SMS centre's messages (the sandbox lists them, with the
-- one-time code); the newest 10000 are kept.
CREATE TABLE sandbox_sms (
    id             BIGSERIAL PRIMARY KEY,
    merchant_id    TEXT NOT NULL,
    msisdn         TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    text           TEXT NOT NULL,
    link           TEXT NOT NULL,
    code           TEXT NOT NULL,
    sent_at        BIGINT NOT NULL
);
CREATE INDEX sandbox_sms_by_number ON sandbox_sms (merchant_id, msisdn, id);

-- A TMF676 refund of a bill-charged telco payment, credited on the bill by
-- whichever node gets to it: recorded with its refund and a first check,
-- claimed by the checker until credited (like gateway_refunds).
CREATE TABLE telco_bill_refunds (
    refund_id     BIGINT PRIMARY KEY REFERENCES refunds (id),
    payment_id    BIGINT NOT NULL REFERENCES payments (id),
    merchant_id   TEXT NOT NULL,
    msisdn        TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    state         TEXT NOT NULL,                -- pending | credited
    carrier_ref   TEXT,
    next_check_at BIGINT,
    checks        BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX telco_bill_refunds_due ON telco_bill_refunds (next_check_at) WHERE next_check_at IS NOT NULL;
