-- routelab store, migration 6: local workbench users and the audit log.
-- Passwords are stored only as salted scrypt hashes. The audit log is append-only: purges, PII reveals and
-- user changes each add a row saying who did what, when, to what.

CREATE TABLE users (
    username       VARCHAR PRIMARY KEY,
    role           VARCHAR NOT NULL CHECK (role IN ('viewer', 'annotator', 'reviewer', 'admin')),
    salt           VARCHAR NOT NULL,     -- 16 random bytes, hex
    password_hash  VARCHAR NOT NULL,     -- scrypt(password, salt, n=2**14, r=8, p=1, 32 bytes), hex
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE audit_log (
    event_id   VARCHAR PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    actor      VARCHAR NOT NULL,         -- a workbench user, or `cli:<os user>` for the command line
    action     VARCHAR NOT NULL,         -- purge, reveal_pii, user_add, user_remove
    subject    VARCHAR,                  -- what it acted on (a request id, a user name, a cutoff)
    details    JSON
);
