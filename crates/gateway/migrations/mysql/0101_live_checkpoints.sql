-- Checkpoints of running live sessions when there is no Redis Cluster (see
-- gateway/src/live/checkpoint.rs): a restarted gateway resumes them from here.
-- live_checkpoints: one row per running session: its meta (session id, host token, the quiz
--   as JSON) and its phase (JSON); updated_at (Unix ms) of the last write, rows older than a
--   day are dropped.
-- live_checkpoint_players: one row per player who got a welcome (record JSON).
CREATE TABLE live_checkpoints (
    code VARCHAR(6) NOT NULL PRIMARY KEY,
    meta MEDIUMTEXT NOT NULL,
    phase VARCHAR(512) NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE live_checkpoint_players (
    code VARCHAR(6) NOT NULL,
    player_id BIGINT NOT NULL,
    record VARCHAR(1024) NOT NULL,
    PRIMARY KEY (code, player_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
