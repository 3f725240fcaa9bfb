// The REST calls of the account page (quiz-client.js): progress, practice attempts and
// answers, and the errors the page shows (409 while a live game plays the question, 422).
import { test } from "node:test";
import assert from "node:assert/strict";

import { ApiError, QuizApi } from "../quiz-client.js";
import { fakeFetch } from "./fakes.js";

test("progress is GET /v1/me/progress with the bearer token", async () => {
  const body = {
    user_id: 2,
    answered: 3,
    correct: 2,
    accuracy: 2 / 3,
    current_streak: 1,
    best_streak: 1,
    topics: [{ topic: "math", answered: 2, correct: 1, accuracy: 0.5 }],
    live: { sessions: 1, answered: 2, correct: 2, accuracy: 1 },
  };
  const fetch = fakeFetch([{ status: 200, body }]);
  const api = new QuizApi({ fetch, token: "t" });
  assert.deepEqual(await api.progress(), body);
  assert.equal(fetch.calls[0].url, "/v1/me/progress");
  assert.equal(fetch.calls[0].method, "GET");
  assert.equal(fetch.calls[0].headers.authorization, "Bearer t");
  assert.equal(fetch.calls[0].body, undefined);
});

test("startAttempt posts to the quiz's attempts without a body", async () => {
  const fetch = fakeFetch([{ status: 201, body: { id: 9, quiz_id: 4, user_id: 2, started_at: 1 } }]);
  const api = new QuizApi({ fetch, token: "t" });
  const a = await api.startAttempt(4);
  assert.equal(a.id, 9);
  assert.equal(fetch.calls[0].url, "/v1/quizzes/4/attempts");
  assert.equal(fetch.calls[0].method, "POST");
  assert.equal(fetch.calls[0].body, undefined);
  assert.equal(fetch.calls[0].headers["content-type"], undefined);
});

test("answer sends the choices, and the attempt and time when given", async () => {
  const result = { answer_id: 1, question_id: 7, correct: true, correct_choice_ids: [21, 23], explanation: "why" };
  const fetch = fakeFetch([
    { status: 200, body: result },
    { status: 200, body: { ...result, answer_id: 2 } },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  assert.deepEqual(await api.answer(7, [23, 21], { attemptId: 9, timeMs: 1234.6 }), result);
  assert.equal(fetch.calls[0].url, "/v1/questions/7/answer");
  assert.equal(fetch.calls[0].method, "POST");
  assert.deepEqual(fetch.calls[0].body, { choice_ids: [23, 21], attempt_id: 9, time_ms: 1235 });
  // Without options only the choices are sent (the server refuses unknown or null fields).
  await api.answer(7, new Set([21]));
  assert.deepEqual(fetch.calls[1].body, { choice_ids: [21] });
});

test("a question in a running live game is a 409 ApiError with the server's reason", async () => {
  const detail =
    "question 7 is in a live game that has not finished; practice answers show the answer key, so they are refused until the game ends";
  const fetch = fakeFetch([
    { status: 409, body: { type: "/problems/conflict", title: "Conflict", status: 409, detail } },
    {
      status: 422,
      body: {
        type: "/problems/validation",
        title: "Invalid input",
        status: 422,
        detail: "choice_ids: select 1-6 choices",
        errors: [{ field: "choice_ids", message: "select 1-6 choices" }],
      },
    },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  const busy = await api.answer(7, [21], { attemptId: 9 }).catch((e) => e);
  assert.ok(busy instanceof ApiError);
  assert.equal(busy.status, 409);
  assert.equal(busy.detail, detail);
  const empty = await api.answer(7, []).catch((e) => e);
  assert.equal(empty.status, 422);
  assert.deepEqual(empty.fieldErrors("choice_ids"), ["select 1-6 choices"]);
});

test("ids are escaped into the path", async () => {
  const fetch = fakeFetch([
    { status: 404, body: { title: "Not found", status: 404, detail: "quiz not found" } },
    { status: 404, body: { title: "Not found", status: 404, detail: "question not found" } },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  await api.startAttempt("1/x").catch(() => {});
  await api.answer("2?y", [1]).catch(() => {});
  assert.equal(fetch.calls[0].url, "/v1/quizzes/1%2Fx/attempts");
  assert.equal(fetch.calls[1].url, "/v1/questions/2%3Fy/answer");
});
