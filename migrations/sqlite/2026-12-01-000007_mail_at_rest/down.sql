DROP INDEX outbox_organization_created;
ALTER TABLE invitations DROP COLUMN resent_at;
DROP INDEX invitations_account_issuer;
