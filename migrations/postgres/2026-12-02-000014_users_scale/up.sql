-- The users list at a million memberships (issue 17): every column sortable by an index within
-- one organization, and substring search through trigram indexes.
--
-- A membership carries copies of the keys it sorts by that live in other tables (the account's
-- email and folded name, the plan's folded name), so one index over (organization, key, id)
-- answers each sort. A trigger keeps the copies in step, because accounts and memberships are
-- written from many places (registration, invitations, LDAP sync, bootstrap, demo data). A
-- membership without a plan sorts by '' (first ascending), never NULL, so both backends agree.
ALTER TABLE memberships
    ADD COLUMN sort_email TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN sort_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN sort_plan TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- The Flags column sorts by the combination of flags set, Delegate weighing most.
    ADD COLUMN sort_flags BIGINT GENERATED ALWAYS AS (
        is_delegate::int * 16 + unsigned_containers::int * 8 + release_protections::int * 4
        + recover::int * 2 + no_second_factor::int
    ) STORED;

UPDATE memberships SET sort_email = accounts.email, sort_name = accounts.name_key
    FROM accounts WHERE accounts.id = memberships.account_id;
UPDATE memberships SET sort_plan = plans.name_key FROM plans WHERE plans.id = memberships.plan_id;

CREATE FUNCTION memberships_sort_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Bulk loads write the keys themselves (an email is never empty), and skip the lookups.
        IF NEW.sort_email = '' THEN
            SELECT email, name_key INTO NEW.sort_email, NEW.sort_name FROM accounts WHERE id = NEW.account_id;
            NEW.sort_plan := COALESCE((SELECT name_key FROM plans WHERE id = NEW.plan_id), '');
        END IF;
    ELSIF NEW.plan_id IS DISTINCT FROM OLD.plan_id THEN
        NEW.sort_plan := COALESCE((SELECT name_key FROM plans WHERE id = NEW.plan_id), '');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER memberships_sort_keys BEFORE INSERT OR UPDATE OF plan_id ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_sort_keys();

CREATE FUNCTION accounts_sort_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET sort_email = NEW.email, sort_name = NEW.name_key WHERE account_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_sort_keys AFTER UPDATE OF email, name_key ON accounts
    FOR EACH ROW WHEN (NEW.email IS DISTINCT FROM OLD.email OR NEW.name_key IS DISTINCT FROM OLD.name_key)
    EXECUTE FUNCTION accounts_sort_keys();

CREATE FUNCTION plans_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET sort_plan = NEW.name_key WHERE plan_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER plans_sort_key AFTER UPDATE OF name_key ON plans
    FOR EACH ROW WHEN (NEW.name_key IS DISTINCT FROM OLD.name_key)
    EXECUTE FUNCTION plans_sort_key();

-- Substring search over accounts' folded keys: `LIKE '%term%'` uses these for three
-- characters or more.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX accounts_email_trgm ON accounts USING gin (email gin_trgm_ops);
CREATE INDEX accounts_name_trgm ON accounts USING gin (name_key gin_trgm_ops);

-- Subsumed by the indexes below.
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
