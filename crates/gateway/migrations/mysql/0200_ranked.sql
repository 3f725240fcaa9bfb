-- Rated matches and global leaderboards (owned by src/ranked, statements in src/store/ranked.rs).
-- ranked_matches: one row per recorded match; the unique match_id makes recording exactly-once
--   (a second insert of the same id fails and its transaction changes nothing). seq orders the
--   rows for the gateways that poll for matches recorded elsewhere. Times are Unix ms.
-- ranked_results: each player's result and rating before/after, written with the match.
-- ranked_ratings: the current Weng-Lin rating per user (mu, sigma), the displayed rating and
--   the number of rated games (which also versions the row).
-- ranked_points: points per board and period: board 'points-week' / 'points-day' with period =
--   the window's start (ms), 'topic:<topic>' with period 0 (all time). matches versions the row.
CREATE TABLE ranked_matches (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    match_id VARCHAR(128) NOT NULL,
    topic VARCHAR(100) NULL,
    ended_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    players BIGINT NOT NULL,
    UNIQUE KEY ranked_matches_id (match_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

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
    PRIMARY KEY (seq, user_id),
    KEY ranked_results_user (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE ranked_ratings (
    user_id BIGINT NOT NULL PRIMARY KEY,
    mu DOUBLE NOT NULL,
    sigma DOUBLE NOT NULL,
    display BIGINT NOT NULL,
    games BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE ranked_points (
    board VARCHAR(120) NOT NULL,
    period BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    points BIGINT NOT NULL,
    matches BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (board, period, user_id),
    KEY ranked_points_user (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
