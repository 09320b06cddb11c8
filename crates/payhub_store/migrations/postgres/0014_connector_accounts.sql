-- Connector accounts (issue 11): which gateway integration serves which of a
-- merchant's gateway types, with what credentials, in which order.
--
-- A merchant with no account for a type is served by the simulated gateway
-- in sandbox mode and refused in production. Credentials are sealed with
-- AES-256-GCM under a key derived from the master key (bound to the account
-- id), so a copy of the database holds no usable key; credential_hints keeps
-- only what may be shown (the last four characters of each, as JSON).
--
-- The circuit breaker's state is here, not in a node's memory, so every
-- node routes around the same unhealthy account and `payhub connector list`
-- can show it: failures counts consecutive calls without an answer (timeouts,
-- 5xx), unhealthy_until is when new payments may use the account again.
CREATE TABLE connector_accounts (
    id               TEXT PRIMARY KEY,          -- ca_<16 hex>
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    connector        TEXT NOT NULL,             -- stripe | alipay | wechatpay | simulated
    label            TEXT NOT NULL,
    gateway_types    TEXT NOT NULL,             -- comma list of seed 003 types: WXPAY,ALIPAY
    priority         BIGINT NOT NULL,           -- lower is tried first
    weight           BIGINT NOT NULL,           -- share among accounts of one priority (A/B split)
    min_amount_minor BIGINT,                    -- routing rules; NULL: no bound
    max_amount_minor BIGINT,
    currency         TEXT,                      -- NULL: any currency
    base_url         TEXT NOT NULL,
    live             BIGINT NOT NULL,           -- 1: real money; 0: the gateway's sandbox
    enabled          BIGINT NOT NULL,
    credentials      TEXT NOT NULL,             -- v1:<base64 nonce ‖ AES-256-GCM ciphertext>
    credential_hints TEXT NOT NULL,             -- {"secret_key":"…4242"}
    credentials_version BIGINT NOT NULL,        -- bumped by each rotation
    failures         BIGINT NOT NULL DEFAULT 0,
    unhealthy_until  BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX connector_accounts_by_merchant ON connector_accounts (merchant_id, priority);

-- Which account served a gateway payment (NULL: the simulated gateway). A
-- payment stays with it for every later call (query, cancel, refund), so an
-- unknown outcome is never sent to a second gateway.
ALTER TABLE gateway_payments ADD COLUMN connector_account TEXT;
