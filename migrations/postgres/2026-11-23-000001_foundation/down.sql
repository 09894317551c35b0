DROP TABLE audit_events;
DROP TABLE platform_properties;
DROP TABLE memberships;
DROP TABLE organizations;
DROP TABLE accounts;
