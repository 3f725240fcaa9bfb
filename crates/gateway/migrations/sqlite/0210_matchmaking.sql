-- Quick match; same tables as migrations/mysql/0210_matchmaking.sql (see the comments there).
ALTER TABLE live_standings ADD COLUMN left_match BIGINT NOT NULL DEFAULT 0;

CREATE TABLE mm_queue (
    user_id BIGINT NOT NULL PRIMARY KEY,
    ticket VARCHAR(32) NOT NULL,
    topic VARCHAR(100) NULL,
    size BIGINT NOT NULL,
    rating DOUBLE NOT NULL,
    enqueued_at BIGINT NOT NULL,
    gateway VARCHAR(64) NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    match_id VARCHAR(32) NULL,
    code VARCHAR(6) NULL
);
CREATE INDEX mm_queue_gateway ON mm_queue (gateway, match_id);
CREATE INDEX mm_queue_waiting ON mm_queue (match_id, enqueued_at);

CREATE TABLE mm_lease (
    name VARCHAR(32) NOT NULL PRIMARY KEY,
    holder VARCHAR(64) NOT NULL,
    expires_ms BIGINT NOT NULL
);

CREATE TABLE mm_matches (
    match_id VARCHAR(32) NOT NULL PRIMARY KEY,
    session_id BIGINT NULL,
    code VARCHAR(6) NULL,
    topic VARCHAR(100) NULL,
    members VARCHAR(1000) NOT NULL,
    created_at BIGINT NOT NULL,
    recorded_at BIGINT NULL
);
CREATE INDEX mm_matches_open ON mm_matches (recorded_at, created_at);

CREATE TABLE mm_seen (
    user_id BIGINT NOT NULL,
    question_id BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, question_id)
);

CREATE TABLE match_results (
    match_id VARCHAR(32) NOT NULL PRIMARY KEY,
    topic VARCHAR(100) NULL,
    ended_at BIGINT NOT NULL,
    players TEXT NOT NULL
);
