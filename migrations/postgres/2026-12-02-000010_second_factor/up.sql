-- The second factor (TOTP, RFC 6238). An account has at most one confirmed secret and at most
-- one pending one (shown on an enrolment page, not yet proven by a code): a new secret replaces
-- the old only once its first code is accepted. The secret is sealed (AES-256-GCM under a key
-- derived from the secret key), so the database and its backups hold no working secret.
-- `last_step` is the last 30-second step whose code was accepted: a code is taken once, and
-- the conditional UPDATE that raises it decides between two instances racing with one code.
-- BIGSERIAL: ids are never reused (DESIGN §2).
CREATE TABLE totp_secrets (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    confirmed BOOLEAN NOT NULL,
    secret_sealed TEXT NOT NULL,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    UNIQUE (account_id, confirmed)
);

-- Ten one-time recovery codes per account, each stored as SHA-256 of a key derived from the
-- secret key and the code (50 random bits), so a copy of the database alone cannot test guesses.
-- Spending one is a conditional UPDATE, so it works once.
CREATE TABLE recovery_codes (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    UNIQUE (account_id, code_hash)
);
