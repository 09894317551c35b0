-- Registration links that no longer work, kept (hashes only) so their page can say why:
-- 'used' (the registration or acceptance it opened), 'registered' (the account registered
-- through another link), 'superseded' (a resend), 'withdrawn' (the membership was removed).
-- Live links stay in `invitations`; expiry is read from `invitations.expires_at`.
CREATE TABLE spent_invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    spent_at TIMESTAMP NOT NULL
);
CREATE INDEX spent_invitations_account ON spent_invitations (account_id);
CREATE INDEX spent_invitations_organization ON spent_invitations (organization_id);

-- A link to the first administrator named when the organization was added: its membership is
-- active once registered, without a validation step (a resend keeps the flag).
ALTER TABLE invitations ADD COLUMN activates_membership BOOLEAN NOT NULL DEFAULT FALSE;
-- Since when the membership awaits validation (the users list shows it).
ALTER TABLE memberships ADD COLUMN awaiting_since TIMESTAMP;
UPDATE memberships SET awaiting_since = updated_at WHERE status = 'awaiting_validation';
CREATE INDEX memberships_org_awaiting ON memberships (organization_id, status, awaiting_since);
