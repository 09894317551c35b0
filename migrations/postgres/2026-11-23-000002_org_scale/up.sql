-- Totals kept in the same transaction as each add and removal, so a page never counts rows.
CREATE TABLE platform_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO platform_counters (name, value) SELECT 'organizations', COUNT(*) FROM organizations;

-- Substring search over the folded keys (LIKE '%…%' uses these for three characters or more).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX organizations_name_trgm ON organizations USING gin (name_key gin_trgm_ops);
CREATE INDEX organizations_contact_trgm ON organizations USING gin (contact_key gin_trgm_ops);

CREATE INDEX organizations_created ON organizations (created_at, id);
