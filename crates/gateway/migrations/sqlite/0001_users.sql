-- Accounts. role: 'player' | 'author' | 'admin'. password_hash: argon2id PHC string.
-- username is unique ignoring ASCII case (NOCASE here, the _ci collation on MySQL).
-- Timestamps everywhere are Unix milliseconds (BIGINT), booleans are 0/1 integers.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(32) NOT NULL COLLATE NOCASE UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL
);
