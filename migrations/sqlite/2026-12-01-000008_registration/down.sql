DROP INDEX memberships_org_awaiting;
ALTER TABLE memberships DROP COLUMN awaiting_since;
ALTER TABLE invitations DROP COLUMN activates_membership;
DROP TABLE spent_invitations;
