-- LDAP sync (issue 16): one ldap_syncs row per run, which is also its lease. The partial
-- unique index lets one run per connection be 'running' whatever the instances race; a run
-- renews lease_until while it works, and one whose lease has passed (its instance was killed)
-- is marked failed by the next instance that starts one.
CREATE TABLE ldap_syncs (
    id BIGSERIAL PRIMARY KEY,
    connection_id BIGINT NOT NULL REFERENCES ldap_connections (id) ON DELETE CASCADE,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    lease_holder TEXT NOT NULL,
    lease_until TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    entries_read BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    removed BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    error_list TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ldap_syncs_running ON ldap_syncs (connection_id) WHERE status = 'running';
CREATE INDEX ldap_syncs_connection ON ldap_syncs (connection_id, id);

-- Which accounts came from which directory entry: an account with a row here for a connection
-- is that directory's; one without is local and never merged with an entry. seen_in_sync is the
-- last run that read the entry, so the entries a finished run did not see are the ones gone.
-- A table of its own rather than columns on accounts: accounts stay the same for local sign-in,
-- and an account keeps its link (and its history) when its entry leaves and comes back.
CREATE TABLE ldap_entries (
    connection_id BIGINT NOT NULL REFERENCES ldap_connections (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    dn TEXT NOT NULL,
    seen_in_sync BIGINT NOT NULL,
    PRIMARY KEY (connection_id, account_id)
);
CREATE INDEX ldap_entries_account ON ldap_entries (account_id);
CREATE INDEX ldap_entries_seen ON ldap_entries (connection_id, seen_in_sync);
