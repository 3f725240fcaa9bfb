-- Live quiz sessions; same tables as migrations/mysql/0100_live.sql (see the comments there).
CREATE TABLE live_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code VARCHAR(6) NOT NULL,
    quiz_id BIGINT NOT NULL,
    host_user_id BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    scoring VARCHAR(512) NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    players BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX live_sessions_code ON live_sessions (code, status);
CREATE INDEX live_sessions_host ON live_sessions (host_user_id);

CREATE TABLE live_answers (
    session_id BIGINT NOT NULL,
    question_index BIGINT NOT NULL,
    player_id BIGINT NOT NULL,
    question_id BIGINT NOT NULL,
    choices VARCHAR(64) NOT NULL,
    correct BIGINT NOT NULL,
    points BIGINT NOT NULL,
    elapsed_ms BIGINT NOT NULL,
    answered_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, question_index, player_id)
);

CREATE TABLE live_standings (
    session_id BIGINT NOT NULL,
    player_id BIGINT NOT NULL,
    nickname VARCHAR(64) NOT NULL,
    account_id BIGINT NULL,
    final_rank BIGINT NOT NULL,
    score BIGINT NOT NULL,
    PRIMARY KEY (session_id, player_id)
);
CREATE INDEX live_standings_rank ON live_standings (session_id, final_rank);
