DROP INDEX IF EXISTS outbox_recipient_created;
DROP INDEX IF EXISTS outbox_status_created;
DROP INDEX IF EXISTS outbox_created;
