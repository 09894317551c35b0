DROP INDEX organizations_created;
DROP INDEX organizations_contact_trgm;
DROP INDEX organizations_name_trgm;
DROP TABLE platform_counters;
