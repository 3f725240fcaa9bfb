-- Question bank.
-- questions: difficulty 1-5; explanation shown after answering.
-- question_tags: lowercase tags, one row per (question, tag).
-- choices: position = display order (0-based); is_correct 0/1; 2-6 per question (checked by the API).
CREATE TABLE questions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    author_id BIGINT NOT NULL,
    text VARCHAR(2000) NOT NULL,
    topic VARCHAR(100) NOT NULL,
    difficulty BIGINT NOT NULL,
    explanation VARCHAR(4000) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    KEY questions_topic (topic),
    KEY questions_author (author_id),
    CONSTRAINT questions_author_fk FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE question_tags (
    question_id BIGINT NOT NULL,
    tag VARCHAR(32) NOT NULL,
    PRIMARY KEY (question_id, tag),
    KEY question_tags_tag (tag),
    CONSTRAINT question_tags_q_fk FOREIGN KEY (question_id) REFERENCES questions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE choices (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    question_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    text VARCHAR(500) NOT NULL,
    is_correct BIGINT NOT NULL,
    KEY choices_question (question_id, position),
    CONSTRAINT choices_q_fk FOREIGN KEY (question_id) REFERENCES questions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
