DROP TABLE ldap_connections;
