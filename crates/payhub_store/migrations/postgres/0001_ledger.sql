-- The ledger: merchants, payments, refunds, hub subscriptions, the outbox and
-- idempotency keys. Times are Unix microseconds (UTC) in BIGINT columns so that
-- both backends store, compare and index them the same way. Amounts are integer
-- minor units; there is no float column.

CREATE TABLE merchants (
    id           TEXT PRIMARY KEY,           -- mer_<16 hex>
    name         TEXT NOT NULL,
    api_key_hash TEXT NOT NULL UNIQUE,       -- SHA-256 of the API key, hex; the key itself is never stored
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE payments (
    id            BIGINT PRIMARY KEY,        -- time-ordered random id, see payhub_core::ids
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    status        TEXT NOT NULL,
    status_date   BIGINT NOT NULL,
    payment_date  BIGINT NOT NULL,
    account_id    TEXT NOT NULL,
    correlator_id TEXT,
    amount_minor  BIGINT,                    -- total amount incl. taxes; NULL when recorded without one
    currency      TEXT,
    document      TEXT NOT NULL,             -- the dialect's other attributes, a JSON object
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- Every list is per merchant and ordered by id; the filters TMF676 clients use
-- most (account.id, correlatorId, status) each get an index so they never scan.
CREATE INDEX payments_by_merchant ON payments (merchant_id, id);
CREATE INDEX payments_by_account ON payments (merchant_id, account_id, id);
CREATE INDEX payments_by_correlator ON payments (merchant_id, correlator_id, id);
CREATE INDEX payments_by_status ON payments (merchant_id, status, id);

CREATE TABLE refunds (
    id            BIGINT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    payment_id    BIGINT REFERENCES payments (id),
    status        TEXT NOT NULL,
    status_date   BIGINT NOT NULL,
    refund_date   BIGINT NOT NULL,
    account_id    TEXT NOT NULL,
    correlator_id TEXT,
    amount_minor  BIGINT,
    currency      TEXT,
    document      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX refunds_by_merchant ON refunds (merchant_id, id);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_by_account ON refunds (merchant_id, account_id, id);
CREATE INDEX refunds_by_correlator ON refunds (merchant_id, correlator_id, id);

CREATE TABLE hub_subscriptions (
    id          BIGINT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    callback    TEXT NOT NULL,
    query       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX hub_subscriptions_by_merchant ON hub_subscriptions (merchant_id);

-- Written in the same transaction as the change it reports. dispatched_at is
-- set once the event has been fanned out into hub_deliveries; lease_until lets
-- a crashed dispatcher's claim expire so another picks the event up.
CREATE TABLE outbox_events (
    id            BIGINT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    event_type    TEXT NOT NULL,
    resource_id   BIGINT NOT NULL,
    status        TEXT NOT NULL,             -- the resource's status when the event happened
    occurred_at   BIGINT NOT NULL,
    dispatched_at BIGINT,
    lease_until   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- Claims walk undispatched events in id order and skip leased ones, so the
-- index is on id alone: a backlog of any size is claimed without a sort.
CREATE INDEX outbox_events_undispatched ON outbox_events (id) WHERE dispatched_at IS NULL;

-- One row per (event, subscription): the unique key makes a repeated fan-out harmless.
CREATE TABLE hub_deliveries (
    id              BIGINT PRIMARY KEY,
    event_id        BIGINT NOT NULL REFERENCES outbox_events (id),
    subscription_id BIGINT NOT NULL,         -- no foreign key: a subscription may be deleted while deliveries remain
    merchant_id     TEXT NOT NULL,
    callback        TEXT NOT NULL,
    state           TEXT NOT NULL,           -- pending | delivered | dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX hub_deliveries_due ON hub_deliveries (next_attempt_at) WHERE state = 'pending';

-- Stripe-style idempotency: the first response to a key is kept and replayed.
CREATE TABLE idempotency_keys (
    merchant_id      TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,          -- SHA-256 of method, path and body
    state            TEXT NOT NULL,          -- processing | done
    response_status  BIGINT,
    response_location TEXT,
    response_body    TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
