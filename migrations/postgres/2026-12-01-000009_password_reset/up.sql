-- Password reset links: a 256-bit token in the email, only its SHA-256 here. One live link per
-- account (a new request replaces the row); using the link deletes the row, and the count of
-- that delete decides which of two simultaneous submissions sets the password. `created_at`
-- also paces the emails: at most one per account every 5 minutes.
-- BIGSERIAL: ids are never reused (DESIGN §2).
CREATE TABLE password_resets (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
