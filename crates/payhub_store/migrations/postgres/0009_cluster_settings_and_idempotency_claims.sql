-- Values every node of a cluster must agree on, written once by the first
-- node that starts and compared by every later one. Today: the master key's
-- fingerprint (a one-way HMAC of it, never the key), so that a node started
-- with another master key refuses to start instead of answering with secrets
-- and payment links no other node recognises.
CREATE TABLE cluster_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL              -- Unix microseconds (UTC)
);

-- Which running request holds an idempotency key: a random token drawn by the
-- request, set when it claims the key (or takes over a dead request's claim),
-- and required to renew the claim's lease, to keep the answer and to release
-- the key. A request whose claim was taken over can therefore never also
-- commit its work: it is done once. NULL for keys written before.
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT;
