-- Every key that a list sorts by uses byte order (COLLATE "C"), as SQLite does, so both
-- backends page identically; folding happens in Rust before the key is stored.
CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    name_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    password_hash TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active')),
    is_platform_admin BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    session_epoch BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_platform_admins ON accounts (id) WHERE is_platform_admin;
CREATE INDEX accounts_name_key ON accounts (name_key, id);

CREATE TABLE organizations (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL,
    contact_email TEXT NOT NULL DEFAULT '',
    contact_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    admin_email TEXT NOT NULL DEFAULT '',
    quota_gb BIGINT NOT NULL CHECK (quota_gb >= 0),
    seats BIGINT CHECK (seats IS NULL OR seats >= 1),
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    member_count BIGINT NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    quota_allocated_gb BIGINT NOT NULL DEFAULT 0 CHECK (quota_allocated_gb >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Names are unique case-insensitively: the folded key decides races between two adds.
CREATE UNIQUE INDEX organizations_name_key ON organizations (name_key);
CREATE UNIQUE INDEX organizations_single_default ON organizations (is_default) WHERE is_default;
CREATE INDEX organizations_contact_key ON organizations (contact_key, id);
CREATE INDEX organizations_quota ON organizations (quota_gb, id);
CREATE INDEX organizations_member_count ON organizations (member_count, id);

CREATE TABLE memberships (
    id BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('invited', 'awaiting_validation', 'active', 'removed')),
    is_delegate BOOLEAN NOT NULL DEFAULT FALSE,
    unsigned_containers BOOLEAN NOT NULL DEFAULT FALSE,
    release_protections BOOLEAN NOT NULL DEFAULT FALSE,
    recover BOOLEAN NOT NULL DEFAULT FALSE,
    no_second_factor BOOLEAN NOT NULL DEFAULT FALSE,
    quota_gb BIGINT NOT NULL DEFAULT 0 CHECK (quota_gb >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP,
    removed_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL
);
-- At most one live (not removed) membership per account and organization.
CREATE UNIQUE INDEX memberships_live ON memberships (organization_id, account_id) WHERE status <> 'removed';
CREATE INDEX memberships_organization ON memberships (organization_id, status);
CREATE INDEX memberships_account ON memberships (account_id);
CREATE INDEX memberships_removed_by ON memberships (removed_by);

CREATE TABLE platform_properties (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Audit events outlive the accounts and organizations they name: ids without foreign keys,
-- names copied in.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
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
CREATE INDEX audit_events_scope ON audit_events (scope, id);
CREATE INDEX audit_events_organization ON audit_events (organization_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id);
