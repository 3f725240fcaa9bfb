-- Quizzes: an ordered list of questions with a time limit each.
-- quiz_questions: position 0-based play order; a question used by a quiz cannot be deleted
-- (RESTRICT -> the API answers 409).
-- quiz_attempts: one row per player run through a quiz in practice mode.
CREATE TABLE quizzes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id BIGINT NOT NULL REFERENCES users (id),
    title VARCHAR(200) NOT NULL,
    description VARCHAR(2000) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX quizzes_author ON quizzes (author_id);

CREATE TABLE quiz_questions (
    quiz_id BIGINT NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE RESTRICT,
    time_limit_ms BIGINT NOT NULL,
    PRIMARY KEY (quiz_id, position),
    UNIQUE (quiz_id, question_id)
);
CREATE INDEX quiz_questions_question ON quiz_questions (question_id);

CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    quiz_id BIGINT NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at BIGINT NOT NULL
);
CREATE INDEX quiz_attempts_quiz ON quiz_attempts (quiz_id);
CREATE INDEX quiz_attempts_user ON quiz_attempts (user_id);
