-- Ghost duels (gateway src/matchmaking). Times are Unix ms.
-- mm_ghosts: one row per player of a finished, recorded duel who was there at the end: what a
--   replay of their game needs besides their answers, which are read back from live_answers
--   (session_id, player_id). rating = theirs when they queued; questions = JSON array of the
--   question ids in order; opponent_id = the other player of the duel.
-- mm_ghost_runs: who played whose ghost last, so a player does not get the same one again soon.
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
    PRIMARY KEY (match_id, user_id),
    KEY mm_ghosts_rating (rating)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mm_ghost_runs (
    user_id BIGINT NOT NULL,
    ghost_user_id BIGINT NOT NULL,
    played_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, ghost_user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
