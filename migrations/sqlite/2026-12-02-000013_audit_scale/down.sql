CREATE INDEX audit_events_scope ON audit_events (scope, id);
CREATE INDEX audit_events_organization ON audit_events (organization_id, id);
DROP INDEX audit_events_organization_time;
DROP INDEX audit_events_scope_target_time;
DROP INDEX audit_events_scope_action_time;
DROP INDEX audit_events_scope_actor_time;
DROP INDEX audit_events_scope_time;
