-- Ids are never reused (DESIGN §2). On PostgreSQL every id is a BIGSERIAL, whose sequence only
-- moves forward, even past rolled-back inserts and deleted rows: nothing to change. This
-- version exists so both backends have the same migration names (SQLite's rebuilds its tables
-- with AUTOINCREMENT).
SELECT 1;
