-- The simulated gateways' own books (sandbox mode): what each simulated
-- "bank" knows about the orders payhub started there and the refunds it made.
-- They used to live in each process's memory, so another node (or the same
-- one after a restart) did not know a payment: settling it answered 404, a
-- timed-out start was taken for never created, a refund was declined. Kept
-- apart from payhub's own tables on purpose: these rows are the outside
-- world's state, which payhub only learns through the connector, and they
-- reference none of payhub's rows.

-- One order per payment per simulated gateway (payhub's payment id is the
-- gateway's "merchant order number").
CREATE TABLE simulator_orders (
    gateway        TEXT NOT NULL,            -- WXPAY, VMPAY, …
    payment_id     BIGINT NOT NULL,
    gw_ref         TEXT NOT NULL,            -- the simulated gateway's reference
    amount_minor   BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    state          TEXT NOT NULL,            -- see payhub_core::gateway::GatewayState
    qr_content     TEXT,
    expires_at     BIGINT NOT NULL,
    code           TEXT,                     -- the gateway's code and message, when it gave one
    message        TEXT,
    refunded_minor BIGINT NOT NULL DEFAULT 0, -- never more than amount_minor
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (gateway, payment_id)
);

-- The refunds a simulated gateway made, by payhub's refund id.
CREATE TABLE simulator_refunds (
    gateway     TEXT NOT NULL,
    refund_id   BIGINT NOT NULL,
    payment_id  BIGINT NOT NULL,
    gw_ref      TEXT,
    state       TEXT NOT NULL,               -- see payhub_core::gateway::RefundState
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (gateway, refund_id)
);
