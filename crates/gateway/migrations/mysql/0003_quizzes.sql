-- Quizzes: an ordered list of questions with a time limit each.
-- quiz_questions: position 0-based play order; a question used by a quiz cannot be deleted
-- (RESTRICT -> the API answers 409).
-- quiz_attempts: one row per player run through a quiz in practice mode.
CREATE TABLE quizzes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    author_id BIGINT NOT NULL,
    title VARCHAR(200) NOT NULL,
    description VARCHAR(2000) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    KEY quizzes_author (author_id),
    CONSTRAINT quizzes_author_fk FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE quiz_questions (
    quiz_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    question_id BIGINT NOT NULL,
    time_limit_ms BIGINT NOT NULL,
    PRIMARY KEY (quiz_id, position),
    UNIQUE KEY quiz_questions_unique (quiz_id, question_id),
    KEY quiz_questions_question (question_id),
    CONSTRAINT quiz_questions_quiz_fk FOREIGN KEY (quiz_id) REFERENCES quizzes (id) ON DELETE CASCADE,
    CONSTRAINT quiz_questions_q_fk FOREIGN KEY (question_id) REFERENCES questions (id) ON DELETE RESTRICT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE quiz_attempts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    quiz_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    KEY quiz_attempts_quiz (quiz_id),
    KEY quiz_attempts_user (user_id),
    CONSTRAINT quiz_attempts_quiz_fk FOREIGN KEY (quiz_id) REFERENCES quizzes (id) ON DELETE CASCADE,
    CONSTRAINT quiz_attempts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
