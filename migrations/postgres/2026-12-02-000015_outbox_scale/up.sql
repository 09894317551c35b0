-- The outbox page at a million messages: newest first by (created_at, id), filtered by status
-- or by exact recipient, each read along one of these indexes (a page never sorts the table).
-- The worker's own indexes (outbox_due, outbox_organization, outbox_organization_created) stay.
CREATE INDEX outbox_created ON outbox (created_at, id);
CREATE INDEX outbox_status_created ON outbox (status, created_at, id);
CREATE INDEX outbox_recipient_created ON outbox (recipient, created_at, id);
