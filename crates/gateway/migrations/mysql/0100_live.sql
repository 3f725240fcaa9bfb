-- Live quiz sessions (owned by the live module, see src/live/mod.rs).
-- live_sessions: one row per hosted session; status 'live' until final standings are stored,
--   then 'finished'. scoring = the ScoringRules JSON. Times are Unix ms.
-- live_answers: the durable answer record, unique per (session, question, player): the batch
--   writer uses INSERT IGNORE, so a retried batch or a second gateway cannot record twice.
--   choices = comma-separated 0-based choice indices; correct 0/1.
-- live_standings: final standings written once when the session finishes.
CREATE TABLE live_sessions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code VARCHAR(6) NOT NULL,
    quiz_id BIGINT NOT NULL,
    host_user_id BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    scoring VARCHAR(512) NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    players BIGINT NOT NULL DEFAULT 0,
    KEY live_sessions_code (code, status),
    KEY live_sessions_host (host_user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

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
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE live_standings (
    session_id BIGINT NOT NULL,
    player_id BIGINT NOT NULL,
    nickname VARCHAR(64) NOT NULL,
    account_id BIGINT NULL,
    final_rank BIGINT NOT NULL,
    score BIGINT NOT NULL,
    PRIMARY KEY (session_id, player_id),
    KEY live_standings_rank (session_id, final_rank)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
