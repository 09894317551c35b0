DROP INDEX memberships_org_created;
DROP INDEX memberships_plan;
ALTER TABLE memberships DROP COLUMN plan_id;
DROP TABLE plans;
