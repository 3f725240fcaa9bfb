-- Question bank.
-- questions: difficulty 1-5; explanation shown after answering.
-- question_tags: lowercase tags, one row per (question, tag).
-- choices: position = display order (0-based); is_correct 0/1; 2-6 per question (checked by the API).
CREATE TABLE questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id BIGINT NOT NULL REFERENCES users (id),
    text VARCHAR(2000) NOT NULL,
    topic VARCHAR(100) NOT NULL,
    difficulty BIGINT NOT NULL,
    explanation VARCHAR(4000) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX questions_topic ON questions (topic);
CREATE INDEX questions_author ON questions (author_id);

CREATE TABLE question_tags (
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    tag VARCHAR(32) NOT NULL,
    PRIMARY KEY (question_id, tag)
);
CREATE INDEX question_tags_tag ON question_tags (tag);

CREATE TABLE choices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    text VARCHAR(500) NOT NULL,
    is_correct BIGINT NOT NULL
);
CREATE INDEX choices_question ON choices (question_id, position);
