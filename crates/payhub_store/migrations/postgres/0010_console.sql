-- The operator console (docs/CONSOLE.md): operator accounts, their sessions,
-- and the indexes its cross-merchant search and charts read through.

-- An operator of the web console, created by `payhub operator create`. The
-- password is generated, shown once and kept only as a slow Argon2id hash.
-- A merchant-scoped operator (merchant_id set) sees only that merchant's data.
-- failed_logins and locked_until slow password guessing per account, and
-- live here so every node counts the same attempts.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY,          -- op_<16 hex>
    name          TEXT NOT NULL UNIQUE,      -- the login name
    password_hash TEXT NOT NULL,             -- Argon2id, PHC string format
    merchant_id   TEXT REFERENCES merchants (id),   -- NULL: every merchant
    failed_logins BIGINT NOT NULL DEFAULT 0, -- consecutive failures since the last success
    locked_until  BIGINT NOT NULL DEFAULT 0, -- no login accepted before this time
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- A logged-in browser. The cookie carries a random token; only its SHA-256
-- is stored, so a copy of the database does not let anyone in. The CSRF
-- token is compared with the one every console form posts back.
CREATE TABLE operator_sessions (
    token_hash  TEXT PRIMARY KEY,            -- SHA-256 of the cookie's token, hex
    operator_id TEXT NOT NULL REFERENCES operators (id),
    csrf_token  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX operator_sessions_by_expiry ON operator_sessions (expires_at);

-- The console searches every merchant's payments by date and charts them
-- per day; the existing indexes all start with merchant_id.
CREATE INDEX payments_by_created ON payments (created_at);
-- A refund of a payment, or an event of a resource, is found by its id.
CREATE INDEX outbox_events_by_resource ON outbox_events (resource_id);
CREATE INDEX hub_deliveries_by_event ON hub_deliveries (event_id);
-- A dialect reference (rrn, transactionId) is searched without knowing the dialect.
CREATE INDEX external_refs_by_reference ON external_refs (reference);
