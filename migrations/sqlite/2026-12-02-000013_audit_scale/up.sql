-- The audit trails are read newest first by (occurred_at, id) and filtered by equality on the
-- actor, the action, the target or the organization, and by a time range. Each index puts the
-- equalities first and (occurred_at, id) last, so a page of a filtered trail is a short range
-- of one index read backwards, and the capped count stops after 10,001 entries.
CREATE INDEX audit_events_scope_time ON audit_events (scope, occurred_at, id);
CREATE INDEX audit_events_scope_actor_time ON audit_events (scope, actor_email, occurred_at, id);
CREATE INDEX audit_events_scope_action_time ON audit_events (scope, action, occurred_at, id);
CREATE INDEX audit_events_scope_target_time ON audit_events (scope, target, occurred_at, id);
CREATE INDEX audit_events_organization_time ON audit_events (organization_id, scope, occurred_at, id);

-- Ordered by id, these served only the pages that counted and skipped with OFFSET; the
-- organization's lookups by id are served by the prefix of audit_events_organization_time.
DROP INDEX audit_events_scope;
DROP INDEX audit_events_organization;
