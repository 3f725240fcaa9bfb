-- Which questions are in a live game right now (gateway src/store/in_play.rs): practice answers
-- and searches ask, for a question, whether a session of a quiz holding it is still 'live'.
-- quiz_questions_question finds the quizzes; this index finds their unfinished sessions.
CREATE INDEX live_sessions_quiz ON live_sessions (quiz_id, status, created_at);
-- Searches list every question of the unfinished sessions: this index finds those sessions.
CREATE INDEX live_sessions_live ON live_sessions (status, created_at);
