-- Ghost duels; same tables as migrations/mysql/0220_ghosts.sql (see the comments there).
CREATE TABLE mm_ghosts (
    match_id VARCHAR(32) NOT NULL,
    user_id BIGINT NOT NULL,
    opponent_id BIGINT NOT NULL,
    rating DOUBLE NOT NULL,
    nickname VARCHAR(64) NOT NULL,
    topic VARCHAR(100) NULL,
    session_id BIGINT NOT NULL,
    player_id BIGINT NOT NULL,
    questions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (match_id, user_id)
);
CREATE INDEX mm_ghosts_rating ON mm_ghosts (rating);

CREATE TABLE mm_ghost_runs (
    user_id BIGINT NOT NULL,
    ghost_user_id BIGINT NOT NULL,
    played_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, ghost_user_id)
);
