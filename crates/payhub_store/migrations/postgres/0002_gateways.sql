-- Gateways, the retail dialect and merchant webhooks.

-- Retail credentials and gateway permissions per merchant. The retail secret
-- and the webhook signing secret are not stored: payhub derives them from its
-- master key (see payhub_server::secrets).
ALTER TABLE merchants ADD COLUMN retail_api_key TEXT;
ALTER TABLE merchants ADD COLUMN gateways TEXT NOT NULL DEFAULT 'WXPAY,ALIPAY,ALIPAYOS,FPSPAY,VMPAY,UNIONPAY,TEST';
ALTER TABLE merchants ADD COLUMN retail_signature TEXT NOT NULL DEFAULT 'hmac-sha1';
UPDATE merchants SET retail_api_key = substr(md5(random()::text || id), 1, 16) WHERE retail_api_key IS NULL;
CREATE UNIQUE INDEX merchants_by_retail_api_key ON merchants (retail_api_key);

-- A dialect's own unique reference (retail rrn, telco transactionId), per
-- merchant: written in the transaction that creates the resource, so a
-- duplicate reference can never create a second payment.
CREATE TABLE external_refs (
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    dialect       TEXT NOT NULL,             -- retail | telco | aps
    reference     TEXT NOT NULL,
    resource_kind TEXT NOT NULL,             -- payment | refund
    resource_id   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, dialect, reference)
);

-- One row per payment routed through a gateway: what the gateway said, what
-- the customer is doing, and when payhub must ask the gateway again.
CREATE TABLE gateway_payments (
    payment_id       BIGINT PRIMARY KEY REFERENCES payments (id),
    merchant_id      TEXT NOT NULL,
    gateway          TEXT NOT NULL,          -- WXPAY, VMPAY, …
    gw_ref           TEXT,                   -- the gateway's reference, once known
    state            TEXT NOT NULL,          -- see payhub_core::gateway::GatewayState
    action           TEXT,                   -- what the customer must do: a QR payload, or 'card' / 'challenge'
    gw_error_code    TEXT,
    gw_error_message TEXT,
    expires_at       BIGINT NOT NULL,
    next_check_at    BIGINT,                 -- when to query the gateway; NULL when nothing is due
    checks           BIGINT NOT NULL DEFAULT 0,
    lang             TEXT NOT NULL,
    return_url       TEXT,
    webhook_url      TEXT,
    card_token       TEXT,
    card_brand       TEXT,
    card_first6      TEXT,
    card_last4       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX gateway_payments_due ON gateway_payments (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX gateway_payments_by_ref ON gateway_payments (gateway, gw_ref);

-- Retail requests already seen, so a signed request cannot be replayed
-- within the timestamp window. Purged once older than the window.
CREATE TABLE seen_signatures (
    api_key    TEXT NOT NULL,
    signature  TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (api_key, signature)
);
CREATE INDEX seen_signatures_by_age ON seen_signatures (seen_at);

-- Deliveries now carry merchant webhooks as well as TMF hub notifications.
-- A webhook's body is fixed when it is fanned out, so every attempt and a
-- manual resend send the same bytes under the same webhook-id.
ALTER TABLE hub_deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'tmf_hub';   -- tmf_hub | retail_webhook
ALTER TABLE hub_deliveries ADD COLUMN body TEXT;
ALTER TABLE hub_deliveries ADD COLUMN last_response TEXT;
CREATE INDEX hub_deliveries_by_merchant ON hub_deliveries (merchant_id, id);

-- Every delivery attempt, for the operator and the merchant.
CREATE TABLE delivery_attempts (
    id           BIGINT PRIMARY KEY,
    delivery_id  BIGINT NOT NULL REFERENCES hub_deliveries (id),
    attempted_at BIGINT NOT NULL,
    status_code  BIGINT,
    error        TEXT,
    response     TEXT                        -- the first 512 bytes of the answer
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);

-- One row per refund sent to a gateway, so a refund whose answer was lost is
-- asked about again until the gateway says how it ended.
CREATE TABLE gateway_refunds (
    refund_id     BIGINT PRIMARY KEY REFERENCES refunds (id),
    payment_id    BIGINT NOT NULL REFERENCES payments (id),
    merchant_id   TEXT NOT NULL,
    gateway       TEXT NOT NULL,
    gw_ref        TEXT,
    state         TEXT NOT NULL,             -- pending | unknown | succeeded | declined
    next_check_at BIGINT,
    checks        BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX gateway_refunds_due ON gateway_refunds (next_check_at) WHERE next_check_at IS NOT NULL;
