// The QuizApi methods of the author page: quiz replace/delete, question patch, and the bulk
// import/export in JSON and CSV (raw bodies, not JSON-encoded by the client).
import { test } from "node:test";
import assert from "node:assert/strict";

import { ApiError, QuizApi } from "../quiz-client.js";

/** A fetch that records requests with their raw bodies and answers from a queue. */
function rawFetch(responses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init });
    const r = responses.shift();
    if (!r) throw new Error("unexpected request " + url);
    const headers = new Map(Object.entries(r.headers || {}));
    const text = r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body);
    return {
      ok: r.status >= 200 && r.status < 300,
      status: r.status,
      headers: { get: (k) => headers.get(k.toLowerCase()) ?? null },
      text: async () => text,
    };
  };
  fetch.calls = calls;
  return fetch;
}

const QUIZ = { title: "Space", description: "", questions: [{ question_id: 4, time_limit_ms: 20000 }] };

test("replaceQuiz is a PUT with the quiz, deleteQuiz a DELETE answered by 204", async () => {
  const fetch = rawFetch([{ status: 200, body: { id: 9, ...QUIZ } }, { status: 204 }]);
  const api = new QuizApi({ fetch, token: "t" });
  const quiz = await api.replaceQuiz(9, QUIZ);
  assert.equal(quiz.id, 9);
  assert.equal(fetch.calls[0].method, "PUT");
  assert.equal(fetch.calls[0].url, "/v1/quizzes/9");
  assert.deepEqual(JSON.parse(fetch.calls[0].body), QUIZ);
  assert.equal(fetch.calls[0].headers.authorization, "Bearer t");
  assert.equal(await api.deleteQuiz(9), null);
  assert.equal(fetch.calls[1].method, "DELETE");
  assert.equal(fetch.calls[1].url, "/v1/quizzes/9");
  assert.equal(fetch.calls[1].body, undefined);
});

test("patchQuestion sends only the given fields", async () => {
  const fetch = rawFetch([{ status: 200, body: { id: 3, topic: "space" } }]);
  const api = new QuizApi({ fetch, token: "t" });
  await api.patchQuestion(3, { topic: "space", tags: ["planets"] });
  assert.equal(fetch.calls[0].method, "PATCH");
  assert.equal(fetch.calls[0].url, "/v1/questions/3");
  assert.deepEqual(JSON.parse(fetch.calls[0].body), { topic: "space", tags: ["planets"] });
});

test("listQuizzes passes the author filter and paging", async () => {
  const fetch = rawFetch([{ status: 200, body: { items: [], total: 0, limit: 10, offset: 20 } }]);
  const api = new QuizApi({ fetch, token: "t" });
  await api.listQuizzes({ author_id: 2, limit: 10, offset: 20 });
  assert.equal(fetch.calls[0].url, "/v1/quizzes?author_id=2&limit=10&offset=20");
});

test("importQuestions wraps an array in {questions}; a 422 names every bad question", async () => {
  const problem = {
    type: "/problems/validation",
    title: "Invalid input",
    status: 422,
    detail: "questions[0].choices: at least one choice must be correct; questions[2].text: must not be empty",
    errors: [
      { field: "questions[0].choices", message: "at least one choice must be correct" },
      { field: "questions[2].text", message: "must not be empty" },
    ],
  };
  const fetch = rawFetch([
    { status: 201, body: { imported: 1, ids: [7] } },
    { status: 422, body: problem, headers: { "content-type": "application/problem+json" } },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  const q = { text: "2+2?", topic: "math", difficulty: 1, choices: [] };
  const ok = await api.importQuestions([q]);
  assert.deepEqual(ok, { imported: 1, ids: [7] });
  assert.equal(fetch.calls[0].method, "POST");
  assert.equal(fetch.calls[0].url, "/v1/questions/import");
  assert.deepEqual(JSON.parse(fetch.calls[0].body), { questions: [q] });
  const err = await api.importQuestions({ questions: [q, q, q] }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 422);
  assert.deepEqual(err.errors.map((e) => e.field), ["questions[0].choices", "questions[2].text"]);
});

test("importQuestionsText sends the file's text unchanged with its content type", async () => {
  const csv = 'text,topic,tags,difficulty,explanation,choice_1,choice_2,choice_3,choice_4,choice_5,choice_6,correct\n"a, b",t,,1,,x,y,,,,,2\n';
  const json = '{"questions": []}';
  const fetch = rawFetch([
    { status: 201, body: { imported: 1, ids: [5] } },
    { status: 422, body: { status: 422, title: "Invalid input", errors: [{ field: "questions", message: "must hold at least one question" }] } },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  const ok = await api.importQuestionsText(csv, "csv");
  assert.equal(ok.imported, 1);
  assert.equal(fetch.calls[0].url, "/v1/questions/import");
  assert.equal(fetch.calls[0].method, "POST");
  assert.equal(fetch.calls[0].body, csv, "the CSV is sent as is, not JSON-encoded");
  assert.equal(fetch.calls[0].headers["content-type"], "text/csv");
  assert.equal(fetch.calls[0].headers.authorization, "Bearer t");
  const err = await api.importQuestionsText(json).catch((e) => e);
  assert.equal(fetch.calls[1].body, json);
  assert.equal(fetch.calls[1].headers["content-type"], "application/json");
  assert.ok(err instanceof ApiError);
  assert.deepEqual(err.fieldErrors("questions"), ["must hold at least one question"]);
});

test("a CSV import's bad rows come back as `row N` errors", async () => {
  const fetch = rawFetch([
    {
      status: 422,
      body: {
        status: 422,
        title: "Invalid input",
        errors: [
          { field: "row 1", message: "difficulty: must be a number from 1 to 5 (got \"x\")" },
          { field: "row 3", message: "has 2 columns, expected 12" },
        ],
      },
    },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  const err = await api.importQuestionsText("whatever", "csv").catch((e) => e);
  assert.equal(err.status, 422);
  assert.deepEqual(err.fieldErrors("row 3"), ["has 2 columns, expected 12"]);
});

test("exports: parsed JSON, or the server's text for a download", async () => {
  const batch = { questions: [{ text: "2+2?", topic: "math", tags: [], difficulty: 1, explanation: "", choices: [] }] };
  const csv = "text,topic\r\n";
  const fetch = rawFetch([
    { status: 200, body: batch },
    { status: 200, body: csv, headers: { "content-type": "text/csv; charset=utf-8" } },
    { status: 200, body: JSON.stringify(batch) },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  assert.deepEqual(await api.exportQuestions(), batch);
  assert.equal(fetch.calls[0].url, "/v1/questions/export");
  assert.equal(await api.exportQuestionsText("csv"), csv);
  assert.equal(fetch.calls[1].url, "/v1/questions/export?format=csv");
  assert.equal(fetch.calls[1].method, "GET");
  assert.equal(fetch.calls[1].headers.accept, "text/csv");
  assert.equal(fetch.calls[1].headers.authorization, "Bearer t");
  assert.equal(fetch.calls[1].body, undefined);
  assert.equal(await api.exportQuestionsText(), JSON.stringify(batch));
  assert.equal(fetch.calls[2].url, "/v1/questions/export?format=json");
});

test("requestRaw turns a 403 and a non-JSON error page into ApiErrors", async () => {
  const fetch = rawFetch([
    { status: 403, body: { status: 403, title: "Forbidden", detail: "this action needs the author or admin role" } },
    { status: 503, body: "<html>down</html>", headers: { "retry-after": "3" } },
  ]);
  const api = new QuizApi({ baseUrl: "http://gw/", fetch, token: "t" });
  const denied = await api.exportQuestionsText("csv").catch((e) => e);
  assert.ok(denied instanceof ApiError);
  assert.equal(denied.status, 403);
  assert.equal(denied.detail, "this action needs the author or admin role");
  assert.equal(fetch.calls[0].url, "http://gw/v1/questions/export?format=csv");
  const down = await api.importQuestionsText("{}").catch((e) => e);
  assert.equal(down.status, 503);
  assert.equal(down.detail, "<html>down</html>");
  assert.equal(down.retryAfter, 3);
});
