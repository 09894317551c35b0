-- Server-side sessions: the cookie carries a 256-bit random id, only its SHA-256 is stored.
-- BIGSERIAL never hands out an id twice: a session id named in a URL
-- (/account/sessions/{id}/end) never comes to name another session.
CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    client_addr TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);
-- The purge of expired sessions reads these.
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_created ON sessions (created_at);

-- Failed sign-ins in a row, per existing account and client address. An unknown email never
-- gets a row, so guessing at an address cannot later lock out whoever registers it.
CREATE TABLE sign_in_failures (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_addr TEXT NOT NULL,
    failures BIGINT NOT NULL,
    locked_until TIMESTAMP,
    last_failure_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, client_addr)
);
CREATE INDEX sign_in_failures_last ON sign_in_failures (last_failure_at);
