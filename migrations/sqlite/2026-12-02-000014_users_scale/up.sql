-- The users list at a million memberships (issue 17): every column sortable by an index within
-- one organization, and substring search through a trigram index.
--
-- A membership carries copies of the keys it sorts by that live in other tables (the account's
-- email and folded name, the plan's folded name), so one index over (organization, key, id)
-- answers each sort. Triggers keep the copies in step, because accounts and memberships are
-- written from many places (registration, invitations, LDAP sync, bootstrap, demo data). A
-- membership without a plan sorts by '' (first ascending), never NULL, so both backends agree.
ALTER TABLE memberships ADD COLUMN sort_email TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN sort_plan TEXT NOT NULL DEFAULT '';
-- The Flags column sorts by the combination of flags set, Delegate weighing most.
ALTER TABLE memberships ADD COLUMN sort_flags BIGINT GENERATED ALWAYS AS (
    is_delegate * 16 + unsigned_containers * 8 + release_protections * 4 + recover * 2 + no_second_factor
) VIRTUAL;

UPDATE memberships SET
    sort_email = (SELECT email FROM accounts WHERE accounts.id = memberships.account_id),
    sort_name = (SELECT name_key FROM accounts WHERE accounts.id = memberships.account_id),
    sort_plan = COALESCE((SELECT name_key FROM plans WHERE plans.id = memberships.plan_id), '');

-- Bulk loads write the keys themselves (an email is never empty), and skip the lookups.
CREATE TRIGGER memberships_sort_keys_insert AFTER INSERT ON memberships WHEN NEW.sort_email = ''
BEGIN
    UPDATE memberships SET
        sort_email = (SELECT email FROM accounts WHERE accounts.id = NEW.account_id),
        sort_name = (SELECT name_key FROM accounts WHERE accounts.id = NEW.account_id),
        sort_plan = COALESCE((SELECT name_key FROM plans WHERE plans.id = NEW.plan_id), '')
    WHERE id = NEW.id;
END;
CREATE TRIGGER memberships_sort_plan_update AFTER UPDATE OF plan_id ON memberships
BEGIN
    UPDATE memberships SET sort_plan = COALESCE((SELECT name_key FROM plans WHERE plans.id = NEW.plan_id), '')
    WHERE id = NEW.id;
END;
CREATE TRIGGER accounts_sort_keys_update AFTER UPDATE OF email, name_key ON accounts
BEGIN
    UPDATE memberships SET sort_email = NEW.email, sort_name = NEW.name_key WHERE account_id = NEW.id;
END;
CREATE TRIGGER plans_sort_key_update AFTER UPDATE OF name_key ON plans
BEGIN
    UPDATE memberships SET sort_plan = NEW.name_key WHERE plan_id = NEW.id;
END;

-- Substring search over accounts' folded keys (emails are stored lowercased, names folded in
-- Rust): a contentless trigram index, rowid = accounts.id, like organizations_search.
CREATE VIRTUAL TABLE accounts_search USING fts5 (
    email, name_key, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1
);
INSERT INTO accounts_search (rowid, email, name_key) SELECT id, email, name_key FROM accounts;
CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO accounts_search (rowid, email, name_key) VALUES (NEW.id, NEW.email, NEW.name_key);
END;
CREATE TRIGGER accounts_search_update AFTER UPDATE OF email, name_key ON accounts
BEGIN
    DELETE FROM accounts_search WHERE rowid = OLD.id;
    INSERT INTO accounts_search (rowid, email, name_key) VALUES (NEW.id, NEW.email, NEW.name_key);
END;
CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts
BEGIN
    DELETE FROM accounts_search WHERE rowid = OLD.id;
END;

-- Subsumed by the indexes below (SQLite appends the rowid, PostgreSQL needs the id spelled out).
DROP INDEX memberships_organization;
DROP INDEX memberships_org_created;
-- Every sort of the users list, within one organization: the default filter (not removed) from
-- partial indexes (queries name `status <> 'removed'` as a literal so both planners match them;
-- the status at the end lets SQLite check that condition, and skip rows, in the index alone),
-- a status filter from the (organization_id, status, key, id) ones. Ties break on id.
CREATE INDEX memberships_live_status ON memberships (organization_id, status, id) WHERE status <> 'removed';
CREATE INDEX memberships_org_status ON memberships (organization_id, status, id);
CREATE INDEX memberships_live_email ON memberships (organization_id, sort_email, id, status) WHERE status <> 'removed';
CREATE INDEX memberships_status_email ON memberships (organization_id, status, sort_email, id);
CREATE INDEX memberships_live_name ON memberships (organization_id, sort_name, id, status) WHERE status <> 'removed';
CREATE INDEX memberships_status_name ON memberships (organization_id, status, sort_name, id);
CREATE INDEX memberships_live_quota ON memberships (organization_id, quota_gb, id, status) WHERE status <> 'removed';
CREATE INDEX memberships_status_quota ON memberships (organization_id, status, quota_gb, id);
CREATE INDEX memberships_live_added ON memberships (organization_id, created_at, id, status) WHERE status <> 'removed';
CREATE INDEX memberships_status_added ON memberships (organization_id, status, created_at, id);
CREATE INDEX memberships_live_flags ON memberships (organization_id, sort_flags, id, status) WHERE status <> 'removed';
CREATE INDEX memberships_status_flags ON memberships (organization_id, status, sort_flags, id);
CREATE INDEX memberships_live_plan ON memberships (organization_id, sort_plan, id, status) WHERE status <> 'removed';
CREATE INDEX memberships_status_plan ON memberships (organization_id, status, sort_plan, id);
