-- Email outbox: written in the same transaction as the change that causes the email, sent by
-- the background worker. Rows outlive the organizations and accounts they mention: no foreign
-- keys, and a removal never deletes them.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
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
-- What the worker polls: only unsent messages are in this index.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_organization ON outbox (organization_id, kind) WHERE status = 'queued';

-- Registration links. Only a hash of the token is stored; one live invitation per account
-- (issuing a new one deletes the old), removed with the organization that sent it.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX invitations_account ON invitations (account_id);
CREATE INDEX invitations_organization ON invitations (organization_id);

-- At most one removal request per organization. The initiator is kept by id and email, not a
-- foreign key, so the request survives the initiator losing the role.
CREATE TABLE removal_requests (
    organization_id BIGINT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    initiated_by BIGINT NOT NULL,
    initiated_by_email TEXT NOT NULL,
    initiated_at TIMESTAMP NOT NULL,
    actionable_at TIMESTAMP NOT NULL,
    -- The contact person told of the removal; empty when nobody was notified.
    notified_contact TEXT NOT NULL DEFAULT ''
);

-- Notice is the safer default: a removal waits a week unless an administrator clears this.
INSERT INTO platform_properties (name, value, updated_at) VALUES ('days_to_action_removal', '7', CURRENT_TIMESTAMP);
