-- Totals kept in the same transaction as each add and removal, so a page never counts rows.
CREATE TABLE platform_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO platform_counters (name, value) SELECT 'organizations', COUNT(*) FROM organizations;

-- Substring search over the folded keys: a trigram index, rowid = organizations.id, kept in
-- sync by src/db/org_index.rs. Keys are folded in Rust already, so no case folding here.
-- Contentless (the keys live in organizations only), with deletes by rowid (SQLite 3.43+,
-- which the bundled library is).
CREATE VIRTUAL TABLE organizations_search USING fts5 (
    name_key, contact_key, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1
);
INSERT INTO organizations_search (rowid, name_key, contact_key) SELECT id, name_key, contact_key FROM organizations;

CREATE INDEX organizations_created ON organizations (created_at, id);
-- A narrow index over the ids, so `page=N` in natural order skips rows without reading them.
CREATE INDEX organizations_natural ON organizations (id, is_default);
