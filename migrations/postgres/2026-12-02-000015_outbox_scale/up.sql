-- The outbox page at a million messages: newest first by (created_at, id), filtered by status
-- or by exact recipient, each read along one of these indexes (a page never sorts the table).
-- The worker's own indexes (outbox_due, outbox_organization, outbox_organization_created) stay. On
-- SQLite the claim's OR of two statuses cannot use the partial outbox_due and scanned the table;
-- it now searches outbox_status_created for the two statuses instead.
CREATE INDEX outbox_created ON outbox (created_at, id);
CREATE INDEX outbox_status_created ON outbox (status, created_at, id);
CREATE INDEX outbox_recipient_created ON outbox (recipient, created_at, id);
