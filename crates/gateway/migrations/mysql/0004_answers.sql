-- Practice answers. correct 0/1; time_ms as reported by the client (NULL if not given);
-- attempt_id NULL for free practice, else the quiz attempt (each question once per attempt).
-- answer_choices: the selected choices of each answer (for answer distributions).
CREATE TABLE practice_answers (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    question_id BIGINT NOT NULL,
    attempt_id BIGINT NULL,
    correct BIGINT NOT NULL,
    time_ms BIGINT NULL,
    answered_at BIGINT NOT NULL,
    UNIQUE KEY practice_answers_once (attempt_id, question_id),
    KEY practice_answers_user (user_id, id),
    KEY practice_answers_question (question_id),
    CONSTRAINT practice_answers_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT practice_answers_q_fk FOREIGN KEY (question_id) REFERENCES questions (id) ON DELETE CASCADE,
    CONSTRAINT practice_answers_attempt_fk FOREIGN KEY (attempt_id) REFERENCES quiz_attempts (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE answer_choices (
    answer_id BIGINT NOT NULL,
    choice_id BIGINT NOT NULL,
    PRIMARY KEY (answer_id, choice_id),
    KEY answer_choices_choice (choice_id),
    CONSTRAINT answer_choices_answer_fk FOREIGN KEY (answer_id) REFERENCES practice_answers (id) ON DELETE CASCADE,
    CONSTRAINT answer_choices_choice_fk FOREIGN KEY (choice_id) REFERENCES choices (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
