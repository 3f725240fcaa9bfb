-- Quick match (gateway src/matchmaking). Times are Unix ms.
-- live_standings.left_match: 1 when the player was not connected as the session finished
--   (a quick match counts that player as having abandoned it).
-- mm_queue: one row per queued player (the primary key makes a second ticket of the same
--   account impossible). gateway = the gateway holding the player's socket, which refreshes
--   heartbeat_ms; rows whose heartbeat stops (that gateway died) are removed by the queue's
--   authority. match_id/code are set, in one conditional UPDATE per match, by the authority.
-- mm_lease: who is the queue's authority until expires_ms (renewed while it lives).
-- mm_matches: every match formed; recorded_at is set once its result went to the rating book.
-- mm_seen: questions a player got in a match (not drawn for them again for a while).
-- match_results: the default rating book's record of match results, one row per match.
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
    code VARCHAR(6) NULL,
    KEY mm_queue_gateway (gateway, match_id),
    KEY mm_queue_waiting (match_id, enqueued_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mm_lease (
    name VARCHAR(32) NOT NULL PRIMARY KEY,
    holder VARCHAR(64) NOT NULL,
    expires_ms BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mm_matches (
    match_id VARCHAR(32) NOT NULL PRIMARY KEY,
    session_id BIGINT NULL,
    code VARCHAR(6) NULL,
    topic VARCHAR(100) NULL,
    members VARCHAR(1000) NOT NULL,
    created_at BIGINT NOT NULL,
    recorded_at BIGINT NULL,
    KEY mm_matches_open (recorded_at, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mm_seen (
    user_id BIGINT NOT NULL,
    question_id BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, question_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE match_results (
    match_id VARCHAR(32) NOT NULL PRIMARY KEY,
    topic VARCHAR(100) NULL,
    ended_at BIGINT NOT NULL,
    players TEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
