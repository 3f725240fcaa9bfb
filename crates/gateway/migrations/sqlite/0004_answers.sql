-- Practice answers. correct 0/1; time_ms as reported by the client (NULL if not given);
-- attempt_id NULL for free practice, else the quiz attempt (each question once per attempt).
-- answer_choices: the selected choices of each answer (for answer distributions).
CREATE TABLE practice_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    attempt_id BIGINT NULL REFERENCES quiz_attempts (id) ON DELETE CASCADE,
    correct BIGINT NOT NULL,
    time_ms BIGINT NULL,
    answered_at BIGINT NOT NULL,
    UNIQUE (attempt_id, question_id)
);
CREATE INDEX practice_answers_user ON practice_answers (user_id, id);
CREATE INDEX practice_answers_question ON practice_answers (question_id);

CREATE TABLE answer_choices (
    answer_id BIGINT NOT NULL REFERENCES practice_answers (id) ON DELETE CASCADE,
    choice_id BIGINT NOT NULL REFERENCES choices (id) ON DELETE CASCADE,
    PRIMARY KEY (answer_id, choice_id)
);
CREATE INDEX answer_choices_choice ON answer_choices (choice_id);
