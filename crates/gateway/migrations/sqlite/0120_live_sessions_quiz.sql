-- Same index as migrations/mysql/0120_live_sessions_quiz.sql (see the comment there).
CREATE INDEX live_sessions_quiz ON live_sessions (quiz_id, status, created_at);
CREATE INDEX live_sessions_live ON live_sessions (status, created_at);
