-- Accounts. role: 'player' | 'author' | 'admin'. password_hash: argon2id PHC string.
-- username is unique ignoring ASCII case (utf8mb4_general_ci here, NOCASE on SQLite).
-- Timestamps everywhere are Unix milliseconds (BIGINT), booleans are 0/1 integers.
CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY users_username (username)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
