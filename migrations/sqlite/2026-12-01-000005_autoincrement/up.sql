-- Ids are never reused (DESIGN §2). Without AUTOINCREMENT SQLite gives a new row the largest
-- id in use plus one, so the id of the newest deleted account or organization came back and a
-- cookie, link or audit event that named the deleted row came to name the new one. This
-- rebuilds every table whose ids outlive their rows with `INTEGER PRIMARY KEY AUTOINCREMENT`,
-- keeping every row, id, column, default, constraint and index, following SQLite's procedure
-- for schema changes (https://www.sqlite.org/lang_altertable.html#otheralter): create the new
-- table, copy, drop the old one, rename the new one.
--
-- This runs outside diesel's transaction (metadata.toml): foreign keys must be off, or the
-- DROP TABLE of accounts, organizations and plans would cascade through their children, and
-- `PRAGMA foreign_keys` has no effect inside a transaction. So the file opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- Stop, changing nothing, if foreign keys are still enforced (an enclosing transaction).
CREATE TEMP TABLE autoincrement_guard (ok BOOLEAN NOT NULL CHECK (ok));
INSERT INTO autoincrement_guard (ok) SELECT foreign_keys = 0 FROM pragma_foreign_keys;
-- Rows that already break a foreign key (none, unless something once wrote with foreign keys
-- off): the rebuild must not add any.
CREATE TEMP TABLE autoincrement_fk_before AS SELECT COUNT(*) AS n FROM pragma_foreign_key_check;
-- The planner's statistics go with a dropped table; keep them for the rebuilt ones. (ANALYZE of
-- the schema table only makes sure that sqlite_stat1 exists.)
ANALYZE sqlite_master;
CREATE TEMP TABLE autoincrement_stat1 AS
    SELECT tbl, idx, stat FROM sqlite_stat1
    WHERE tbl IN ('accounts', 'organizations', 'memberships', 'plans', 'invitations', 'outbox', 'audit_events');

CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    name_key TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active')),
    is_platform_admin BOOLEAN NOT NULL DEFAULT 0,
    must_change_password BOOLEAN NOT NULL DEFAULT 0,
    session_epoch BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE organizations_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    contact_email TEXT NOT NULL DEFAULT '',
    contact_key TEXT NOT NULL DEFAULT '',
    admin_email TEXT NOT NULL DEFAULT '',
    quota_gb BIGINT NOT NULL CHECK (quota_gb >= 0),
    seats BIGINT CHECK (seats IS NULL OR seats >= 1),
    is_default BOOLEAN NOT NULL DEFAULT 0,
    member_count BIGINT NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    quota_allocated_gb BIGINT NOT NULL DEFAULT 0 CHECK (quota_allocated_gb >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- plan_id last, where ALTER TABLE ADD COLUMN put it.
CREATE TABLE memberships_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('invited', 'awaiting_validation', 'active', 'removed')),
    is_delegate BOOLEAN NOT NULL DEFAULT 0,
    unsigned_containers BOOLEAN NOT NULL DEFAULT 0,
    release_protections BOOLEAN NOT NULL DEFAULT 0,
    recover BOOLEAN NOT NULL DEFAULT 0,
    no_second_factor BOOLEAN NOT NULL DEFAULT 0,
    quota_gb BIGINT NOT NULL DEFAULT 0 CHECK (quota_gb >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP,
    removed_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    plan_id BIGINT REFERENCES plans (id) ON DELETE RESTRICT
);

CREATE TABLE plans_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    quota_gb BIGINT NOT NULL CHECK (quota_gb >= 0),
    is_default BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE invitations_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    organization_id BIGINT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);

CREATE TABLE audit_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TIMESTAMP NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('platform', 'organization')),
    actor_id BIGINT,
    actor_email TEXT NOT NULL DEFAULT '',
    organization_id BIGINT,
    organization_name TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    client_addr TEXT NOT NULL DEFAULT ''
);

-- Counters already kept for these tables (only when this migration runs a second time, after
-- an interruption between its commit and diesel recording it): a new one never goes lower.
CREATE TEMP TABLE autoincrement_old_seq AS
    SELECT name, seq FROM main.sqlite_sequence
    WHERE name IN ('accounts', 'organizations', 'memberships', 'plans', 'invitations', 'outbox', 'audit_events');

INSERT INTO accounts_new (id, email, display_name, name_key, password_hash, status, is_platform_admin,
                          must_change_password, session_epoch, created_at, updated_at)
    SELECT id, email, display_name, name_key, password_hash, status, is_platform_admin,
           must_change_password, session_epoch, created_at, updated_at
    FROM accounts ORDER BY id;
INSERT INTO organizations_new (id, name, name_key, contact_email, contact_key, admin_email, quota_gb, seats,
                               is_default, member_count, quota_allocated_gb, created_at, updated_at)
    SELECT id, name, name_key, contact_email, contact_key, admin_email, quota_gb, seats,
           is_default, member_count, quota_allocated_gb, created_at, updated_at
    FROM organizations ORDER BY id;
INSERT INTO memberships_new (id, organization_id, account_id, status, is_delegate, unsigned_containers,
                             release_protections, recover, no_second_factor, quota_gb, created_at, updated_at,
                             removed_at, removed_by, plan_id)
    SELECT id, organization_id, account_id, status, is_delegate, unsigned_containers,
           release_protections, recover, no_second_factor, quota_gb, created_at, updated_at,
           removed_at, removed_by, plan_id
    FROM memberships ORDER BY id;
INSERT INTO plans_new (id, organization_id, name, name_key, quota_gb, is_default, created_at, updated_at)
    SELECT id, organization_id, name, name_key, quota_gb, is_default, created_at, updated_at
    FROM plans ORDER BY id;
INSERT INTO invitations_new (id, account_id, organization_id, token_hash, created_at, expires_at)
    SELECT id, account_id, organization_id, token_hash, created_at, expires_at
    FROM invitations ORDER BY id;
INSERT INTO outbox_new (id, message_id, kind, organization_id, recipient, subject, body_text, body_html, status,
                        attempts, next_attempt_at, claimed_until, last_error, created_at, sent_at)
    SELECT id, message_id, kind, organization_id, recipient, subject, body_text, body_html, status,
           attempts, next_attempt_at, claimed_until, last_error, created_at, sent_at
    FROM outbox ORDER BY id;
INSERT INTO audit_events_new (id, occurred_at, scope, actor_id, actor_email, organization_id, organization_name,
                              action, target, details, client_addr)
    SELECT id, occurred_at, scope, actor_id, actor_email, organization_id, organization_name,
           action, target, details, client_addr
    FROM audit_events ORDER BY id;

-- With foreign keys off these delete nothing else; their indexes go with them.
DROP TABLE audit_events;
DROP TABLE outbox;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE plans;
DROP TABLE organizations;
DROP TABLE accounts;

-- The references in the other tables name these tables, so they point at the new ones now.
ALTER TABLE accounts_new RENAME TO accounts;
ALTER TABLE organizations_new RENAME TO organizations;
ALTER TABLE memberships_new RENAME TO memberships;
ALTER TABLE plans_new RENAME TO plans;
ALTER TABLE invitations_new RENAME TO invitations;
ALTER TABLE outbox_new RENAME TO outbox;
ALTER TABLE audit_events_new RENAME TO audit_events;

-- Every index as migrations 1 to 4 made it.
CREATE INDEX accounts_platform_admins ON accounts (id) WHERE is_platform_admin;
CREATE INDEX accounts_name_key ON accounts (name_key, id);

-- Names are unique case-insensitively: the folded key decides races between two adds.
CREATE UNIQUE INDEX organizations_name_key ON organizations (name_key);
CREATE UNIQUE INDEX organizations_single_default ON organizations (is_default) WHERE is_default;
CREATE INDEX organizations_contact_key ON organizations (contact_key, id);
CREATE INDEX organizations_quota ON organizations (quota_gb, id);
CREATE INDEX organizations_member_count ON organizations (member_count, id);
CREATE INDEX organizations_created ON organizations (created_at, id);
-- A narrow index over the ids, so `page=N` in natural order skips rows without reading them.
CREATE INDEX organizations_natural ON organizations (id, is_default);

-- At most one live (not removed) membership per account and organization.
CREATE UNIQUE INDEX memberships_live ON memberships (organization_id, account_id) WHERE status <> 'removed';
CREATE INDEX memberships_organization ON memberships (organization_id, status);
CREATE INDEX memberships_account ON memberships (account_id);
CREATE INDEX memberships_removed_by ON memberships (removed_by);
CREATE INDEX memberships_plan ON memberships (plan_id) WHERE plan_id IS NOT NULL;
-- The users list sorts and searches inside one organization.
CREATE INDEX memberships_org_created ON memberships (organization_id, created_at, id);

CREATE UNIQUE INDEX plans_name ON plans (organization_id, name_key);
CREATE UNIQUE INDEX plans_single_default ON plans (organization_id) WHERE is_default;

CREATE INDEX invitations_account ON invitations (account_id);
CREATE INDEX invitations_organization ON invitations (organization_id);

-- What the worker polls: only unsent messages are in this index.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_organization ON outbox (organization_id, kind) WHERE status = 'queued';

CREATE INDEX audit_events_scope ON audit_events (scope, id);
CREATE INDEX audit_events_organization ON audit_events (organization_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id);

-- Each counter starts at the largest id ever named, not only the largest still present: a
-- deleted account or organization that an audit event, an outbox message or a removal
-- request still names is never handed out again. (organizations_search needs nothing: its
-- rowids are the organization ids, all kept.)
DELETE FROM sqlite_sequence
    WHERE name IN ('accounts', 'organizations', 'memberships', 'plans', 'invitations', 'outbox', 'audit_events');
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'accounts', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM accounts
        UNION ALL SELECT MAX(actor_id) FROM audit_events
        UNION ALL SELECT MAX(removed_by) FROM memberships
        UNION ALL SELECT MAX(initiated_by) FROM removal_requests
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'accounts'
    );
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'organizations', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM organizations
        UNION ALL SELECT MAX(organization_id) FROM audit_events
        UNION ALL SELECT MAX(organization_id) FROM outbox
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'organizations'
    );
-- Plan ids also appear in the details of membership and plan events.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'plans', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM plans
        UNION ALL SELECT MAX(plan_id) FROM memberships
        UNION ALL SELECT MAX(CASE WHEN json_type(details, '$.after.plan_id') = 'integer'
                                  THEN json_extract(details, '$.after.plan_id') END)
        FROM audit_events WHERE instr(details, 'plan_id') > 0 AND json_valid(details) = 1
        UNION ALL SELECT MAX(CASE WHEN json_type(details, '$.before.plan_id') = 'integer'
                                  THEN json_extract(details, '$.before.plan_id') END)
        FROM audit_events WHERE instr(details, 'plan_id') > 0 AND json_valid(details) = 1
        UNION ALL SELECT MAX(CASE WHEN json_type(details, '$.moved_to') = 'integer'
                                  THEN json_extract(details, '$.moved_to') END)
        FROM audit_events WHERE instr(details, 'moved_to') > 0 AND json_valid(details) = 1
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'plans'
    );
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'memberships', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM memberships
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'memberships'
    );
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'invitations', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM invitations
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'invitations'
    );
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM outbox
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'outbox'
    );
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'audit_events', COALESCE(MAX(id), 0) FROM (
        SELECT MAX(id) AS id FROM audit_events
        UNION ALL SELECT seq FROM autoincrement_old_seq WHERE name = 'audit_events'
    );

INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT tbl, idx, stat FROM autoincrement_stat1;

-- Fails (and so rolls everything back) if the rebuild broke a single reference.
INSERT INTO autoincrement_guard (ok)
    SELECT (SELECT COUNT(*) FROM pragma_foreign_key_check) = n FROM autoincrement_fk_before;

DROP TABLE autoincrement_guard;
DROP TABLE autoincrement_fk_before;
DROP TABLE autoincrement_stat1;
DROP TABLE autoincrement_old_seq;
COMMIT;
PRAGMA foreign_keys = ON;
