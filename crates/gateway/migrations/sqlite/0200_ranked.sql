-- Rated matches and global leaderboards; same tables as migrations/mysql/0200_ranked.sql (see
-- the comments there).
CREATE TABLE ranked_matches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    match_id VARCHAR(128) NOT NULL UNIQUE,
    topic VARCHAR(100) NULL,
    ended_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    players BIGINT NOT NULL
);

CREATE TABLE ranked_results (
    seq BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    placement BIGINT NOT NULL,
    points BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    mu_before DOUBLE NOT NULL,
    sigma_before DOUBLE NOT NULL,
    mu_after DOUBLE NOT NULL,
    sigma_after DOUBLE NOT NULL,
    PRIMARY KEY (seq, user_id)
);
CREATE INDEX ranked_results_user ON ranked_results (user_id);

CREATE TABLE ranked_ratings (
    user_id BIGINT NOT NULL PRIMARY KEY,
    mu DOUBLE NOT NULL,
    sigma DOUBLE NOT NULL,
    display BIGINT NOT NULL,
    games BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ranked_points (
    board VARCHAR(120) NOT NULL,
    period BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    points BIGINT NOT NULL,
    matches BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (board, period, user_id)
);
CREATE INDEX ranked_points_user ON ranked_points (user_id);
