-- Checkpoints of running live sessions; same tables as migrations/mysql/0101_live_checkpoints.sql
-- (see the comments there).
CREATE TABLE live_checkpoints (
    code VARCHAR(6) NOT NULL PRIMARY KEY,
    meta TEXT NOT NULL,
    phase VARCHAR(512) NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE live_checkpoint_players (
    code VARCHAR(6) NOT NULL,
    player_id BIGINT NOT NULL,
    record VARCHAR(1024) NOT NULL,
    PRIMARY KEY (code, player_id)
);
