DROP TABLE ldap_entries;
DROP TABLE ldap_syncs;
