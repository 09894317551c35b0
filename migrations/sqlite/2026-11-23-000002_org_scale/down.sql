DROP INDEX organizations_natural;
DROP INDEX organizations_created;
DROP TABLE organizations_search;
DROP TABLE platform_counters;
