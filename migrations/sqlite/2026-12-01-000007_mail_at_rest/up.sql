-- Invitations stay within their tenant: one live link per account and issuer (an organization,
-- or NULL for a platform administrator), so a new link from one never supersedes another's.
CREATE UNIQUE INDEX invitations_account_issuer ON invitations (account_id, COALESCE(organization_id, 0));
-- When this organization last resent the link (resends of one person: at most once a minute).
ALTER TABLE invitations ADD COLUMN resent_at TIMESTAMP;

-- Invitation emails an organization sent in the last hour (ORGPORTAL_INVITATIONS_PER_HOUR).
CREATE INDEX outbox_organization_created ON outbox (organization_id, created_at);

-- Bodies are now stored sealed and wiped once sent; wipe those sent (or withdrawn) before, which
-- hold registration links in clear.
UPDATE outbox SET body_text = '', body_html = '' WHERE status IN ('sent', 'cancelled');
