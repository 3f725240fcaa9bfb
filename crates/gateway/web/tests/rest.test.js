// REST half of quiz-client.js: URLs, headers, bodies, and problem+json errors as ApiError.
import { test } from "node:test";
import assert from "node:assert/strict";

import { ApiError, QuizApi } from "../quiz-client.js";
import { fakeFetch } from "./fakes.js";

test("login keeps the token and sends it as a bearer token", async () => {
  const fetch = fakeFetch([
    { status: 200, body: { token: "t0k", token_type: "Bearer", expires_in: 86400 } },
    { status: 200, body: { id: 1, username: "ada", role: "admin" } },
  ]);
  const api = new QuizApi({ baseUrl: "http://gw:8080/", fetch });
  await api.login("ada", "pw");
  assert.equal(api.token, "t0k");
  const me = await api.me();
  assert.equal(me.username, "ada");
  assert.equal(fetch.calls[0].url, "http://gw:8080/v1/auth/login");
  assert.equal(fetch.calls[0].method, "POST");
  assert.deepEqual(fetch.calls[0].body, { username: "ada", password: "pw" });
  assert.equal(fetch.calls[0].headers["content-type"], "application/json");
  assert.equal(fetch.calls[1].headers.authorization, "Bearer t0k");
});

test("query parameters skip empty values and join arrays", async () => {
  const fetch = fakeFetch([{ status: 200, body: { total: 0, items: [] } }]);
  const api = new QuizApi({ fetch });
  await api.searchQuestions({ q: "mut binding", topic: "rust", tags: ["a", "b"], limit: undefined });
  assert.equal(fetch.calls[0].url, "/v1/questions/search?q=mut+binding&topic=rust&tags=a%2Cb");
});

test("problem+json becomes an ApiError with field errors", async () => {
  const problem = {
    type: "/problems/validation",
    title: "Invalid input",
    status: 422,
    detail: "text: must not be empty",
    errors: [
      { field: "text", message: "must not be empty" },
      { field: "choices", message: "must have 2-6 choices (got 1)" },
    ],
  };
  const fetch = fakeFetch([{ status: 422, body: problem, headers: { "content-type": "application/problem+json" } }]);
  const api = new QuizApi({ fetch, token: "x" });
  const err = await api.createQuestion({ text: "" }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 422);
  assert.equal(err.type, "/problems/validation");
  assert.equal(err.detail, "text: must not be empty");
  assert.equal(err.message, "text: must not be empty");
  assert.deepEqual(err.fieldErrors("choices"), ["must have 2-6 choices (got 1)"]);
  assert.equal(err.errors.length, 2);
});

test("429 carries Retry-After; a non-JSON error body still gives an ApiError", async () => {
  const fetch = fakeFetch([
    { status: 429, body: { type: "/problems/rate-limited", title: "Too many requests", status: 429 }, headers: { "retry-after": "7" } },
    { status: 502, body: "bad gateway" },
  ]);
  const api = new QuizApi({ fetch });
  const limited = await api.login("a", "b").catch((e) => e);
  assert.equal(limited.status, 429);
  assert.equal(limited.retryAfter, 7);
  assert.equal(api.token, null);
  const proxy = await api.listQuizzes().catch((e) => e);
  assert.ok(proxy instanceof ApiError);
  assert.equal(proxy.status, 502);
  assert.equal(proxy.detail, "bad gateway");
});

test("204 answers resolve to null and logout drops the token", async () => {
  const fetch = fakeFetch([{ status: 204 }]);
  const api = new QuizApi({ fetch, token: "t" });
  assert.equal(await api.logout(), undefined);
  assert.equal(api.token, null);
});

test("live session and standings paths", async () => {
  const fetch = fakeFetch([
    { status: 201, body: { session_id: 7, code: "493021", host_token: "h" } },
    { status: 200, body: [{ rank: 1, player_id: 3, nickname: "Ann", score: 10 }] },
  ]);
  const api = new QuizApi({ fetch, token: "t" });
  const s = await api.createLiveSession({ quiz_id: 42 });
  assert.equal(s.code, "493021");
  await api.standings(7);
  assert.equal(fetch.calls[0].url, "/v1/live/sessions");
  assert.equal(fetch.calls[1].url, "/v1/live/sessions/7/standings");
});

test("the default fetch is the global one, called as a plain function", async () => {
  // Browsers throw "Illegal invocation" when their `fetch` is called as a method of another
  // object; this stand-in does the same, so a client that calls `this.fetch(...)` fails here.
  const real = globalThis.fetch;
  let calledOn = "never";
  globalThis.fetch = function (url) {
    calledOn = this;
    if (this !== undefined && this !== globalThis) {
      throw new TypeError("Illegal invocation");
    }
    return Promise.resolve(
      new Response(JSON.stringify({ items: [], total: 0, limit: 20, offset: 0 }), {
        status: 200,
        headers: { "content-type": "application/json" },
      }),
    );
  };
  try {
    const api = new QuizApi({ baseUrl: "http://gw:8080" });
    await api.request("GET", "/v1/quizzes");
    assert.notEqual(calledOn, "never");
  } finally {
    globalThis.fetch = real;
  }
});
