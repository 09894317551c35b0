-- LDAP directory connections (issue 16). The bind password is sealed (AES-256-GCM under a key
-- derived from the secret key, bound to the row's id), so the database and its backups hold no
-- working directory password; NULL means none was given. Names are unique as typed.
-- AUTOINCREMENT: ids are never reused (DESIGN §2).
CREATE TABLE ldap_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    starttls BOOLEAN NOT NULL,
    bind_dn TEXT NOT NULL,
    bind_password_sealed TEXT,
    base_dn TEXT NOT NULL,
    user_filter TEXT NOT NULL,
    email_attr TEXT NOT NULL,
    name_attr TEXT NOT NULL,
    schedule_minutes INTEGER,
    new_entry_status TEXT NOT NULL CHECK (new_entry_status IN ('active', 'awaiting_validation')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
