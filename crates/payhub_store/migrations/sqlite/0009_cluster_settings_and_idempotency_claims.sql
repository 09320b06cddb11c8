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
