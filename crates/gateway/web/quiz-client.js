// quiz-client.js: the quiz gateway's JavaScript client (REST + live protocol version 2).
//
// One ES module with no DOM dependency: it runs in browsers (the gateway serves it at
// /static/quiz-client.js) and in Node >= 20 (pass a WebSocket constructor, e.g. from the `ws`
// package, because Node 20 has no global one). Everything the environment provides can be
// injected (fetch, WebSocket, storage, timers, clock, randomness), which is how its tests run
// against fakes.
//
// REST:
//   const api = new QuizApi({ baseUrl: "http://127.0.0.1:8080" }); // "" = same origin
//   await api.login("ada", "pw");                 // keeps the bearer token
//   const page = await api.listQuestions({ topic: "rust" });
//   Errors are thrown as ApiError (status, type, title, detail, errors[{field,message}],
//   retryAfter seconds) parsed from application/problem+json bodies.
//
// Live:
//   const live = new LiveClient({ storage: sessionStorage });
//   live.on("state", (s) => ...);      // {state: connecting|open|reconnecting|closed, ...}
//   live.on("question", (q) => ...);   // every server frame type is an event of its name
//   live.connect("493021", { nickname: "Ann" });   // or {token}, {resume_token}, {host_token}
//   await live.answer(0, [1]);         // resolves with the answer_ack, rejects with LiveError
//   live.serverNow();                  // Date.now() corrected to the server clock
//   live.extraTime(12, 150);           // host: player 12 gets x1.5 time from the next question
//   live.on("players", ({ players, maxPlayers }) => ...);   // "joined X of N", host and players
//   live.on("roster_changed", (list) => ...);              // host: [{player_id, nickname,
//                                                          //   connected, extra_time_percent}]
//
// The client sends the credential as the first frame, keeps the welcome's resume token (in
// `storage` too, so a reloaded page resumes), drops leaderboard/rank frames older than the
// highest `version` seen (a reveal's included), estimates the clock offset from `server_time` (welcome, pong), and
// reconnects with exponential backoff (100 ms to 2 s, jitter, 20 attempts) and the resume
// credential unless the close code is final (see CLOSE_CODES); after 4010 (the session was
// handed over to another gateway) the first attempt is made at once. docs/WEB.md has the
// details.

/** A REST error: the problem+json body of a non-2xx response. */
export class ApiError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.type = problem.type || "about:blank";
    this.title = problem.title || "";
    this.detail = problem.detail || "";
    /** Per-field messages: [{field, message}]. */
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    /** Seconds from Retry-After (429, 503), or null. */
    this.retryAfter = retryAfter;
  }

  /** The messages for one field (e.g. "text", "choices[1].text"). */
  fieldErrors(field) {
    return this.errors.filter((e) => e.field === field).map((e) => e.message);
  }
}

/** Per-player extra time, in percent of a question's time limit (100 = none, 150 = x1.5). */
export const EXTRA_TIME = Object.freeze({ min: 100, max: 300 });

/** "Top X%" for a rank among `players` (competition rank, 1 = best): ceil(100 rank / players),
 *  at least 1; null without players. A `rank` frame's `percentile` is the other view: the share
 *  of the other players this one is strictly ahead of ("ahead of P%"). */
export function topPercent(rank, players) {
  if (!(players > 0) || !(rank > 0)) return null;
  return Math.max(1, Math.min(100, Math.ceil((100 * rank) / players)));
}

/** A live-protocol error: an `error` frame (code, message, req) or a local failure. */
export class LiveError extends Error {
  constructor(code, message, req = undefined) {
    super(message || code);
    this.name = "LiveError";
    this.code = code;
    this.req = req;
  }
}

/** Close codes of the live protocol: what they mean and whether the client reconnects. */
export const CLOSE_CODES = Object.freeze({
  1000: { meaning: "closed", reconnect: false },
  1001: { meaning: "server going away or session moved", reconnect: true },
  1006: { meaning: "connection lost", reconnect: true },
  1009: { meaning: "frame too large", reconnect: true },
  4000: { meaning: "session finished", reconnect: false },
  4001: { meaning: "removed by the host", reconnect: false },
  4003: { meaning: "join refused", reconnect: false },
  4004: { meaning: "unknown session code", reconnect: false },
  4008: { meaning: "too slow: outgoing queue overflowed", reconnect: true },
  4009: { meaning: "replaced by a newer connection", reconnect: false },
  4010: { meaning: "session moved: reconnect now", reconnect: true, now: true },
});

/** What a close code means, and whether it is worth reconnecting. */
export function closeInfo(code) {
  return CLOSE_CODES[code] || { meaning: `closed (${code})`, reconnect: true };
}

/** A small event emitter: on/off/once/emit; `on` returns an unsubscribe function. */
export class Emitter {
  #handlers = new Map();

  on(type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    this.#handlers.get(type)?.delete(fn);
  }

  once(type, fn) {
    const off = this.on(type, (v) => {
      off();
      fn(v);
    });
    return off;
  }

  emit(type, value) {
    for (const fn of [...(this.#handlers.get(type) || [])]) {
      try {
        fn(value);
      } catch (e) {
        // A listener's bug must not break the protocol state machine.
        if (globalThis.console) console.error(e);
      }
    }
  }
}

/** REST client of the gateway's `/v1` API. */
export class QuizApi {
  // The default calls the global `fetch` through a wrapper: browsers refuse `fetch` called as
  // a method of another object ("Illegal invocation"), which `this.fetch(...)` would do.
  constructor({ baseUrl = "", token = null, fetch = (...args) => globalThis.fetch(...args) } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    /** The bearer token (set by login, cleared by logout). */
    this.token = token;
    this.fetch = fetch;
  }

  /** Sends a request; returns the parsed JSON (or null for 204), throws ApiError. */
  async request(method, path, { body, query } = {}) {
    let url = this.baseUrl + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined || v === null || v === "") continue;
        q.set(k, Array.isArray(v) ? v.join(",") : String(v));
      }
      const s = q.toString();
      if (s) url += "?" + s;
    }
    const headers = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const resp = await this.fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = resp.status === 204 ? "" : await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!resp.ok) {
      const ra = Number(resp.headers?.get?.("retry-after"));
      const problem = data && typeof data === "object" ? data : { detail: text.slice(0, 200) };
      throw new ApiError(resp.status, problem, Number.isFinite(ra) && ra > 0 ? ra : null);
    }
    return data;
  }

  register(username, password) {
    return this.request("POST", "/v1/auth/register", { body: { username, password } });
  }
  /** Logs in and keeps the token for the next calls; returns the token response. */
  async login(username, password) {
    const t = await this.request("POST", "/v1/auth/login", { body: { username, password } });
    this.token = t.token;
    return t;
  }
  async logout() {
    await this.request("POST", "/v1/auth/logout");
    this.token = null;
  }
  me() {
    return this.request("GET", "/v1/me");
  }
  /** The caller's practice progress (totals, streaks, `topics`) and `live` games. */
  progress() {
    return this.request("GET", "/v1/me/progress");
  }
  /** Starts a practice attempt at a quiz: -> {id, quiz_id, user_id, started_at}. */
  startAttempt(quizId) {
    return this.request("POST", `/v1/quizzes/${encodeURIComponent(quizId)}/attempts`);
  }
  /**
   * Answers a question in practice mode: -> {answer_id, question_id, correct,
   * correct_choice_ids, explanation}. options: {attemptId, timeMs} (both optional; within an
   * attempt each question can be answered once). A 409 means the question is in a live game
   * that has not finished (or was already answered in this attempt).
   */
  answer(questionId, choiceIds, { attemptId, timeMs } = {}) {
    const body = { choice_ids: [...choiceIds] };
    if (attemptId !== undefined && attemptId !== null) body.attempt_id = attemptId;
    if (timeMs !== undefined && timeMs !== null) body.time_ms = Math.max(0, Math.round(timeMs));
    return this.request("POST", `/v1/questions/${encodeURIComponent(questionId)}/answer`, { body });
  }
  /** filter: {topic, tag, difficulty, author_id, limit, offset}. */
  listQuestions(filter = {}) {
    return this.request("GET", "/v1/questions", { query: filter });
  }
  /** params: {q, topic, tags (array or "a,b"), limit}. */
  searchQuestions(params = {}) {
    return this.request("GET", "/v1/questions/search", { query: params });
  }
  getQuestion(id) {
    return this.request("GET", `/v1/questions/${encodeURIComponent(id)}`);
  }
  createQuestion(input) {
    return this.request("POST", "/v1/questions", { body: input });
  }
  /** Replaces a question (PUT). */
  updateQuestion(id, input) {
    return this.request("PUT", `/v1/questions/${encodeURIComponent(id)}`, { body: input });
  }
  deleteQuestion(id) {
    return this.request("DELETE", `/v1/questions/${encodeURIComponent(id)}`);
  }
  listQuizzes(params = {}) {
    return this.request("GET", "/v1/quizzes", { query: params });
  }
  getQuiz(id) {
    return this.request("GET", `/v1/quizzes/${encodeURIComponent(id)}`);
  }
  createQuiz(input) {
    return this.request("POST", "/v1/quizzes", { body: input });
  }
  /** Replaces a quiz's title, description and question list (PUT). */
  replaceQuiz(id, input) {
    return this.request("PUT", `/v1/quizzes/${encodeURIComponent(id)}`, { body: input });
  }
  /** Deletes a quiz (its attempts go with it; the questions stay). */
  deleteQuiz(id) {
    return this.request("DELETE", `/v1/quizzes/${encodeURIComponent(id)}`);
  }
  /** Changes some fields of a question (PATCH): any of {text, topic, tags, difficulty, explanation}. */
  patchQuestion(id, patch) {
    return this.request("PATCH", `/v1/questions/${encodeURIComponent(id)}`, { body: patch });
  }
  /**
   * Imports questions in one all-or-nothing request: `{questions: [...]}` (or the array itself)
   * -> `{imported, ids}`. A 422 names every bad question (`questions[i].field`).
   */
  importQuestions(batch) {
    const body = Array.isArray(batch) ? { questions: batch } : batch;
    return this.request("POST", "/v1/questions/import", { body });
  }
  /**
   * Imports the text of a file as it is: `format` "json" (`{"questions": [...]}`) or "csv" (the
   * CSV_HEADER layout, where a 422 names every bad row as `row N`) -> `{imported, ids}`.
   */
  async importQuestionsText(text, format = "json") {
    const contentType = format === "csv" ? "text/csv" : "application/json";
    const resp = await this.requestRaw("POST", "/v1/questions/import", { body: text, contentType });
    return JSON.parse(await resp.text());
  }
  /** The caller's questions with their answer keys (every question for admins), as `{questions}`. */
  exportQuestions() {
    return this.request("GET", "/v1/questions/export");
  }
  /** The export as the server wrote it: `format` "json" or "csv"; resolves to the text. */
  async exportQuestionsText(format = "json") {
    const resp = await this.requestRaw("GET", "/v1/questions/export", {
      query: { format },
      accept: format === "csv" ? "text/csv" : "application/json",
    });
    return resp.text();
  }
  /**
   * Sends a body that is already text (not JSON-encoded here) with `contentType`, and resolves
   * to the fetch Response of a 2xx answer (read it as text, JSON or a Blob); anything else is
   * thrown as an ApiError, like `request`.
   */
  async requestRaw(method, path, { body, contentType, accept = "*/*", query } = {}) {
    let url = this.baseUrl + path;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    }
    if (q.toString()) url += "?" + q.toString();
    const headers = { accept };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = contentType || "text/plain";
    const resp = await this.fetch(url, { method, headers, body });
    if (resp.ok) return resp;
    const text = await resp.text();
    let problem;
    try {
      problem = JSON.parse(text);
    } catch {
      problem = null;
    }
    if (!problem || typeof problem !== "object") problem = { detail: text.slice(0, 200) };
    const ra = Number(resp.headers?.get?.("retry-after"));
    throw new ApiError(resp.status, problem, Number.isFinite(ra) && ra > 0 ? ra : null);
  }
  /** Hosts a quiz live: {quiz_id, ...options} -> {session_id, code, host_token}. */
  createLiveSession(options) {
    return this.request("POST", "/v1/live/sessions", { body: options });
  }
  standings(sessionId) {
    return this.request("GET", `/v1/live/sessions/${encodeURIComponent(sessionId)}/standings`);
  }
}

const FRAME_TYPES = new Set([
  "welcome", "question", "answer_ack", "answer_counts", "reveal", "leaderboard", "rank",
  "roster", "finished", "join_pattern", "joins_locked", "error", "pong",
]);

/** The live protocol client. Events: "state", "message" (every frame), one per frame type
 *  ("welcome", "question", ...), "reconnected" (the welcome after a resume), "dropped"
 *  (a stale leaderboard/rank frame). */
export class LiveClient extends Emitter {
  constructor(options = {}) {
    super();
    this.baseUrl = options.baseUrl ?? "";
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.storage = options.storage ?? null;
    this.storagePrefix = options.storagePrefix ?? "quiz-live:";
    this.backoff = { min: 100, max: 2000, attempts: 20, ...(options.backoff || {}) };
    this.pingIntervalMs = options.pingIntervalMs ?? 15000;
    /** A connection without a welcome after this long is given up and retried. */
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? 15000;
    /** Declare `reads_reveal_standing` in every player connection's first frame (join and
     *  resume): the page shows the standing after a question from the reveal's result, so the
     *  gateway sends no `rank` frame that only repeats it. Off by default: a page that reads
     *  its rank from `rank` frames only keeps getting that frame. */
    this.readsRevealStanding = options.readsRevealStanding === true;
    this.now = options.now ?? (() => Date.now());
    this.random = options.random ?? Math.random;
    this.setTimeout = options.setTimeout ?? ((f, ms) => globalThis.setTimeout(f, ms));
    this.clearTimeout = options.clearTimeout ?? ((t) => globalThis.clearTimeout(t));
    this.setInterval = options.setInterval ?? ((f, ms) => globalThis.setInterval(f, ms));
    this.clearInterval = options.clearInterval ?? ((t) => globalThis.clearInterval(t));
    this.state = "idle";
    this.code = null;
    this.welcome = null;
    /** Players in the session, from the latest frame that told (welcome, rank, leaderboard,
     *  roster, answer_counts); null before the welcome. */
    this.players = null;
    /** The session's player cap (welcome.max_players); null when unknown. */
    this.maxPlayers = null;
    /** Host only: the players by id ({player_id, nickname, connected, extra_time_percent}),
     *  from the welcome's roster and kept current by roster frames. */
    this.roster = new Map();
    this.lastVersion = -Infinity;
    /** Estimated server clock minus local clock, in ms. */
    this.clockOffset = 0;
    this.#reset();
  }

  #ws = null;
  #credential = null;
  #attempt = 0;
  #timer = null;
  #pinger = null;
  #nextReq = 1;
  #pending = new Map();
  #pingSentAt = null;
  #bestRtt = Infinity;
  #lastError = null;
  #stopped = false;

  #reset() {
    this.welcome = null;
    this.players = null;
    this.maxPlayers = null;
    this.roster = new Map();
    this.lastVersion = -Infinity;
    this.#bestRtt = Infinity;
    this.#attempt = 0;
  }

  /** The local clock corrected by the estimated offset: use it for countdowns. */
  serverNow() {
    return this.now() + this.clockOffset;
  }

  /** Milliseconds left until a server timestamp (e.g. a question's deadline), never < 0. */
  remaining(serverTime) {
    return Math.max(0, serverTime - this.serverNow());
  }

  /** The credential kept in `storage` for a join code, or null. */
  storedCredential(code) {
    if (!this.storage) return null;
    try {
      const v = JSON.parse(this.storage.getItem(this.storagePrefix + code) || "null");
      return v && (v.resume_token || v.host_token) ? v : null;
    } catch {
      return null;
    }
  }

  /** Forgets the stored credential of a join code. */
  forget(code) {
    try {
      this.storage?.removeItem(this.storagePrefix + code);
    } catch {
      // storage may be unavailable (private mode); nothing to forget then
    }
  }

  /** Connects to a session. credential: {nickname[, pattern]} | {token[, pattern]} |
   *  {resume_token} | {host_token}; omitted: the one stored for this code. */
  connect(code, credential) {
    this.#teardown();
    this.#stopped = false;
    this.code = String(code);
    const cred = credential ?? this.storedCredential(this.code);
    if (!cred) throw new LiveError("no_credential", "no credential given or stored for this code");
    if (this.code !== this.#lastCode) this.#reset();
    this.#lastCode = this.code;
    this.#credential = cred;
    this.#attempt = 0;
    this.#open("connecting");
  }

  #lastCode = null;

  /** Closes the connection for good (no reconnect). */
  close() {
    const wasActive = this.state !== "idle" && this.state !== "closed";
    this.#teardown();
    if (wasActive) this.#setState("closed", { code: 1000, ...closeInfo(1000), final: true });
  }

  #teardown() {
    this.#stopped = true;
    this.#clearTimers();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    this.#failPending(new LiveError("closed", "connection closed"));
  }

  /** Answers a question; resolves with its answer_ack, rejects with a LiveError. */
  answer(question, choices) {
    const req = this.#nextReq++;
    return new Promise((resolve, reject) => {
      this.#pending.set(req, { resolve, reject });
      try {
        this.send({ type: "answer", question, choices, req });
      } catch (e) {
        this.#pending.delete(req);
        reject(e);
      }
    });
  }

  start() { this.send({ type: "start" }); }
  skip() { this.send({ type: "skip" }); }
  end() { this.send({ type: "end" }); }
  remove(playerId) { this.send({ type: "remove", player_id: playerId }); }
  ban(playerId) { this.send({ type: "ban", player_id: playerId }); }
  lock() { this.send({ type: "lock" }); }
  unlock() { this.send({ type: "unlock" }); }
  /** Host: gives a player extra time, `percent` of each question's limit (EXTRA_TIME.min..max;
   *  100 = none), from the next question that opens. The server confirms with a `roster` frame
   *  whose event is "extra_time"; a percent out of range throws LiveError("bad_extra_time")
   *  without sending. */
  extraTime(playerId, percent) {
    if (!Number.isInteger(percent) || percent < EXTRA_TIME.min || percent > EXTRA_TIME.max) {
      throw new LiveError(
        "bad_extra_time",
        `extra time is a whole percent from ${EXTRA_TIME.min} to ${EXTRA_TIME.max}`,
      );
    }
    this.send({ type: "extra_time", player_id: playerId, percent });
  }

  /** Host: the roster as a list sorted by player id. */
  rosterList() {
    return [...this.roster.values()].sort((a, b) => a.player_id - b.player_id);
  }
  ping() {
    this.#pingSentAt = this.now();
    this.send({ type: "ping" });
  }

  /** Sends an in-game frame; throws LiveError("not_connected") before the welcome. */
  send(frame) {
    if (this.state !== "open" || !this.#ws) {
      throw new LiveError("not_connected", "not connected to the session");
    }
    this.#ws.send(JSON.stringify(frame));
  }

  #url() {
    let base = this.baseUrl;
    if (!base && globalThis.location) base = globalThis.location.origin;
    const u = new URL("/v1/live/ws", base);
    u.protocol = u.protocol === "https:" ? "wss:" : u.protocol === "http:" ? "ws:" : u.protocol;
    u.searchParams.set("code", this.code);
    return u.toString();
  }

  #open(state) {
    this.#setState(state, { attempt: this.#attempt });
    this.#lastError = null;
    let ws;
    try {
      ws = new this.WebSocket(this.#url());
    } catch (e) {
      this.#lastError = new LiveError("connect_failed", String(e?.message || e));
      this.#scheduleReconnect(1006);
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      const c = this.#credential;
      let hello;
      if (c.host_token) hello = { type: "host", host_token: c.host_token };
      else if (c.resume_token) hello = { type: "resume", resume_token: c.resume_token };
      else {
        hello = { type: "join" };
        if (c.token) hello.token = c.token;
        if (c.nickname !== undefined) hello.nickname = c.nickname;
        if (c.pattern !== undefined) hello.pattern = c.pattern;
      }
      if (this.readsRevealStanding && hello.type !== "host") hello.reads_reveal_standing = true;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (this.#ws !== ws || typeof ev.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string") this.#onFrame(frame);
    };
    const lost = (code, reason) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#clearTimers();
      this.#failPending(new LiveError("disconnected", "connection lost before the acknowledgement"));
      this.#onClose(code, reason);
    };
    ws.onclose = (ev) => lost(ev?.code ?? 1006, ev?.reason ?? "");
    // A connection can hang without any event (a server dying mid-handshake, a dead link):
    // no welcome in time counts as lost.
    // Gives a connection up as lost (1006) first, then closes it: closing a connecting
    // socket may fire its error event again at once (Node 20), which then finds it gone.
    const abandon = (error) => {
      if (this.#ws !== ws) return;
      if (error) this.#lastError = error;
      lost(1006, "");
      try {
        ws.close();
      } catch {
        // never opened
      }
    };
    this.#timer = this.setTimeout(() => {
      this.#timer = null;
      if (this.state !== "open") abandon(new LiveError("timeout", "no answer from the server"));
    }, this.welcomeTimeoutMs);
    ws.onerror = () => {
      // Once open, a close event follows with the real code. A connection that fails before
      // opening may get no close event at all (Node 20's WebSocket), so it is lost now.
      if (ws.readyState !== 1) abandon(null);
    };
  }

  #onFrame(f) {
    const recvAt = this.now();
    switch (f.type) {
      case "welcome": {
        const resumed = this.welcome !== null;
        this.welcome = f;
        this.#attempt = 0;
        if (this.#timer !== null) this.clearTimeout(this.#timer);
        this.#timer = null;
        if (typeof f.server_time === "number" && this.#bestRtt === Infinity) {
          this.clockOffset = f.server_time - recvAt;
        }
        if (f.role === "host") this.#credential = { host_token: this.#credential.host_token };
        else if (f.resume_token) this.#credential = { resume_token: f.resume_token };
        this.#store();
        if (typeof f.max_players === "number" && f.max_players > 0) this.maxPlayers = f.max_players;
        if (Array.isArray(f.roster)) {
          this.roster = new Map(f.roster.map((e) => [e.player_id, { ...e }]));
          this.emit("roster_changed", this.rosterList());
        }
        this.#countPlayers(f.players);
        this.#setState("open", { welcome: f });
        this.#startPinger();
        this.emit("welcome", f);
        if (resumed) this.emit("reconnected", f);
        this.emit("message", f);
        try {
          this.ping();
        } catch {
          // not open (a listener closed it)
        }
        return;
      }
      case "pong":
        if (typeof f.server_time === "number" && this.#pingSentAt !== null) {
          const rtt = recvAt - this.#pingSentAt;
          if (rtt <= this.#bestRtt) {
            this.#bestRtt = rtt;
            this.clockOffset = f.server_time + rtt / 2 - recvAt;
          }
          this.#pingSentAt = null;
        }
        break;
      case "leaderboard":
      case "rank": {
        const v = typeof f.version === "number" ? f.version : null;
        if (v !== null) {
          if (v < this.lastVersion) {
            this.emit("dropped", f);
            return;
          }
          this.lastVersion = v;
        }
        this.#countPlayers(f.players);
        break;
      }
      case "reveal": {
        // Never dropped; the standing in its result is as of its version, so push frames
        // built before it (lower versions) are stale from now on.
        if (typeof f.version === "number" && f.version > this.lastVersion) this.lastVersion = f.version;
        this.#countPlayers(f.result?.players);
        break;
      }
      case "roster":
        this.#onRoster(f);
        this.#countPlayers(f.players);
        break;
      case "answer_counts":
        this.#countPlayers(f.players);
        break;
      case "answer_ack": {
        const p = this.#pending.get(f.req);
        if (p) {
          this.#pending.delete(f.req);
          p.resolve(f);
        }
        break;
      }
      case "error": {
        this.#lastError = new LiveError(f.code, f.message, f.req);
        const p = f.req !== undefined ? this.#pending.get(f.req) : undefined;
        if (p) {
          this.#pending.delete(f.req);
          p.reject(this.#lastError);
        }
        break;
      }
      default:
        break;
    }
    if (FRAME_TYPES.has(f.type)) this.emit(f.type, f);
    this.emit("message", f);
  }

  /** Keeps the player count and emits "players" when it changed. */
  #countPlayers(n) {
    if (typeof n !== "number" || n === this.players) return;
    this.players = n;
    this.emit("players", { players: n, maxPlayers: this.maxPlayers });
  }

  /** Host: applies a roster frame to the roster map and emits "roster_changed". */
  #onRoster(f) {
    if (typeof f.player_id !== "number") return;
    const had = this.roster.get(f.player_id);
    const entry = had || {
      player_id: f.player_id,
      nickname: f.nickname,
      connected: false,
      extra_time_percent: EXTRA_TIME.min,
    };
    if (typeof f.nickname === "string") entry.nickname = f.nickname;
    if (typeof f.extra_time_percent === "number") entry.extra_time_percent = f.extra_time_percent;
    switch (f.event) {
      case "joined":
        entry.connected = true;
        break;
      case "left":
        entry.connected = false;
        break;
      case "removed":
      case "banned":
        this.roster.delete(f.player_id);
        this.emit("roster_changed", this.rosterList());
        return;
      default:
        break;
    }
    this.roster.set(f.player_id, entry);
    this.emit("roster_changed", this.rosterList());
  }

  #onClose(code, reason) {
    const info = closeInfo(code);
    const error = this.#lastError;
    if (this.#stopped) return;
    if (code === 4000 || code === 4001 || (code === 4003 && !this.#credential?.nickname && !this.#credential?.token)) {
      // Finished, removed, or a stored credential refused: it will never work again.
      this.forget(this.code);
    }
    if (!info.reconnect) {
      this.#setState("closed", { code, reason, ...info, final: true, error });
      return;
    }
    this.#scheduleReconnect(code, reason);
  }

  #scheduleReconnect(code, reason = "") {
    const info = closeInfo(code);
    if (this.#attempt >= this.backoff.attempts) {
      this.#setState("closed", { code, reason, ...info, final: true, gaveUp: true, error: this.#lastError });
      return;
    }
    const base = Math.min(this.backoff.max, this.backoff.min * 2 ** this.#attempt);
    // A handed-over session can be reached again at once: no wait before the first attempt.
    const now = info.now && this.#attempt === 0;
    const delay = now ? 0 : Math.round(base / 2 + (base / 2) * this.random());
    this.#attempt += 1;
    this.#setState("reconnecting", { code, reason, ...info, attempt: this.#attempt, delay });
    this.#timer = this.setTimeout(() => {
      this.#timer = null;
      if (!this.#stopped) this.#open("connecting");
    }, delay);
  }

  #store() {
    if (!this.storage) return;
    const c = this.#credential;
    const v = c.host_token ? { host_token: c.host_token } : c.resume_token ? { resume_token: c.resume_token } : null;
    if (!v) return;
    try {
      this.storage.setItem(this.storagePrefix + this.code, JSON.stringify(v));
    } catch {
      // storage full or unavailable: the session still works, only a reload cannot resume
    }
  }

  #startPinger() {
    if (this.#pinger !== null || !this.pingIntervalMs) return;
    this.#pinger = this.setInterval(() => {
      try {
        this.ping();
      } catch {
        // not connected right now
      }
    }, this.pingIntervalMs);
  }

  #clearTimers() {
    if (this.#timer !== null) this.clearTimeout(this.#timer);
    if (this.#pinger !== null) this.clearInterval(this.#pinger);
    this.#timer = null;
    this.#pinger = null;
  }

  #failPending(err) {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
  }

  #setState(state, detail = {}) {
    this.state = state;
    this.emit("state", { state, ...detail });
  }
}
