-- Plans: named quota presets of one organization. A membership on a plan follows the plan's
-- quota; a plan in use cannot be deleted (RESTRICT), its users are moved first.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    quota_gb BIGINT NOT NULL CHECK (quota_gb >= 0),
    is_default BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX plans_name ON plans (organization_id, name_key);
CREATE UNIQUE INDEX plans_single_default ON plans (organization_id) WHERE is_default;

ALTER TABLE memberships ADD COLUMN plan_id BIGINT REFERENCES plans (id) ON DELETE RESTRICT;
CREATE INDEX memberships_plan ON memberships (plan_id) WHERE plan_id IS NOT NULL;
-- The users list sorts and searches inside one organization.
CREATE INDEX memberships_org_created ON memberships (organization_id, created_at, id);
