// Live half of quiz-client.js against a fake WebSocket: handshake, answers, version ordering,
// clock offset, reconnect with resume, final close codes.
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";

import { LiveClient, LiveError } from "../quiz-client.js";
import { FakeSocket, FakeTime, MemoryStorage } from "./fakes.js";

const welcome = (extra = {}) => ({
  type: "welcome", protocol: 2, session_id: 7, code: "493021", role: "player", player_id: 3,
  nickname: "Ann", resume_token: "r1", phase: "lobby", score: 0, players: 1,
  server_time: 1_000_000, ...extra,
});

let time;
let storage;
let states;

function client(extra = {}) {
  const c = new LiveClient({
    baseUrl: "https://quiz.example",
    WebSocket: FakeSocket,
    storage,
    pingIntervalMs: 0,
    ...time.options(),
    ...extra,
  });
  c.on("state", (s) => states.push(s));
  return c;
}

/** Connects and completes the handshake with `w`. */
function joined(c, w = welcome()) {
  c.connect("493021", { nickname: "Ann" });
  const ws = FakeSocket.last();
  ws.serverOpen();
  ws.serverSend(w);
  return ws;
}

beforeEach(() => {
  FakeSocket.reset();
  time = new FakeTime();
  storage = new MemoryStorage();
  states = [];
});

test("the URL carries only the code and the first frame is the credential", () => {
  const c = client();
  c.connect("493021", { nickname: "Ann", pattern: "3514" });
  const ws = FakeSocket.last();
  assert.equal(ws.url, "wss://quiz.example/v1/live/ws?code=493021");
  assert.equal(c.state, "connecting");
  ws.serverOpen();
  assert.deepEqual(ws.sent, [{ type: "join", nickname: "Ann", pattern: "3514" }]);

  c.connect("493021", { token: "bearer" });
  FakeSocket.last().serverOpen();
  assert.deepEqual(FakeSocket.last().sent[0], { type: "join", token: "bearer" });
  c.connect("493021", { host_token: "h" });
  FakeSocket.last().serverOpen();
  assert.deepEqual(FakeSocket.last().sent[0], { type: "host", host_token: "h" });
  c.connect("493021", { resume_token: "r" });
  FakeSocket.last().serverOpen();
  assert.deepEqual(FakeSocket.last().sent[0], { type: "resume", resume_token: "r" });
});

test("a client that reads the reveal's standing declares it on joins and resumes, not as host", () => {
  const c = client({ readsRevealStanding: true });
  const ws = joined(c);
  assert.deepEqual(ws.sent[0], { type: "join", nickname: "Ann", reads_reveal_standing: true });
  // A resume is a new connection: it declares it again.
  ws.serverClose(1006);
  time.advance(100);
  const ws2 = FakeSocket.last();
  ws2.serverOpen();
  assert.deepEqual(ws2.sent[0], { type: "resume", resume_token: "r1", reads_reveal_standing: true });
  c.connect("493021", { host_token: "h" });
  FakeSocket.last().serverOpen();
  assert.deepEqual(FakeSocket.last().sent[0], { type: "host", host_token: "h" });
});

test("http base URLs become ws URLs", () => {
  const c = client({ baseUrl: "http://127.0.0.1:8080" });
  c.connect("123456", { nickname: "x" });
  assert.equal(FakeSocket.last().url, "ws://127.0.0.1:8080/v1/live/ws?code=123456");
});

test("nothing but the credential can be sent before the welcome", () => {
  const c = client();
  c.connect("493021", { nickname: "Ann" });
  FakeSocket.last().serverOpen();
  assert.throws(() => c.start(), (e) => e instanceof LiveError && e.code === "not_connected");
});

test("welcome opens the session and stores the resume token", () => {
  const c = client();
  const seen = [];
  c.on("welcome", (w) => seen.push(w));
  joined(c);
  assert.equal(c.state, "open");
  assert.equal(seen.length, 1);
  assert.deepEqual(JSON.parse(storage.getItem("quiz-live:493021")), { resume_token: "r1" });
  assert.deepEqual(c.storedCredential("493021"), { resume_token: "r1" });
  assert.deepEqual(
    states.map((s) => s.state),
    ["connecting", "open"],
  );
});

test("answers carry req ids and resolve with their ack or reject with the error", async () => {
  const c = client();
  const ws = joined(c);
  const first = c.answer(0, [1]);
  const second = c.answer(0, [2]);
  const frames = ws.sent.filter((f) => f.type === "answer");
  assert.deepEqual(frames[0], { type: "answer", question: 0, choices: [1], req: 1 });
  assert.equal(frames[1].req, 2);
  ws.serverSend({ type: "answer_ack", question: 0, elapsed_ms: 800, req: 1 });
  ws.serverSend({ type: "error", code: "already_answered", message: "you already answered", req: 2 });
  assert.equal((await first).elapsed_ms, 800);
  const err = await second.catch((e) => e);
  assert.ok(err instanceof LiveError);
  assert.equal(err.code, "already_answered");
});

test("host commands are the documented frames", () => {
  const c = client();
  c.connect("493021", { host_token: "h" });
  const ws = FakeSocket.last();
  ws.serverOpen();
  ws.serverSend({ type: "welcome", protocol: 2, role: "host", session_id: 7, code: "493021", phase: "lobby", players: 0, server_time: 1 });
  c.start(); c.skip(); c.lock(); c.unlock(); c.remove(12); c.ban(13); c.end();
  assert.deepEqual(ws.sent.slice(1).filter((f) => f.type !== "ping"), [
    { type: "start" }, { type: "skip" }, { type: "lock" }, { type: "unlock" },
    { type: "remove", player_id: 12 }, { type: "ban", player_id: 13 }, { type: "end" },
  ]);
  assert.deepEqual(c.storedCredential("493021"), { host_token: "h" });
});

test("leaderboard and rank frames older than the highest version are dropped", () => {
  const c = client();
  const ws = joined(c);
  const got = [];
  const dropped = [];
  c.on("leaderboard", (f) => got.push(["leaderboard", f.version]));
  c.on("rank", (f) => got.push(["rank", f.version]));
  c.on("dropped", (f) => dropped.push(f.version));
  ws.serverSend({ type: "leaderboard", version: 5, top: [] });
  ws.serverSend({ type: "rank", version: 5, rank: 2, score: 10 });
  ws.serverSend({ type: "rank", version: 4, rank: 9, score: 0 });
  ws.serverSend({ type: "leaderboard", version: 3, top: [] });
  ws.serverSend({ type: "leaderboard", version: 6, top: [] });
  assert.deepEqual(got, [["leaderboard", 5], ["rank", 5], ["leaderboard", 6]]);
  assert.deepEqual(dropped, [4, 3]);
});

test("a reveal's version outdates older push frames, and a reveal is never dropped", () => {
  const c = client();
  const ws = joined(c);
  const got = [];
  const players = [];
  c.on("reveal", (f) => got.push(["reveal", f.version]));
  c.on("rank", (f) => got.push(["rank", f.version]));
  c.on("leaderboard", (f) => got.push(["leaderboard", f.version]));
  c.on("players", (p) => players.push(p.players));
  ws.serverSend({ type: "rank", version: 3, rank: 2, score: 10, players: 2 });
  ws.serverSend({
    type: "reveal", question: 0, correct: [1], counts: [0, 1], version: 4, changed_at: 1,
    result: { answered: true, correct: true, points: 900, streak: 1, score: 910, rank: 1, percentile: 100, players: 3 },
  });
  // Built before the reveal, delivered after it.
  ws.serverSend({ type: "rank", version: 3, rank: 2, score: 10, players: 2 });
  ws.serverSend({ type: "leaderboard", version: 5, top: [], players: 3 });
  // A reveal from an older server (no version) and one with a lower version still arrive.
  ws.serverSend({ type: "reveal", question: 1, correct: [1], counts: [0, 1] });
  ws.serverSend({ type: "reveal", question: 2, correct: [1], counts: [0, 1], version: 1 });
  assert.deepEqual(got, [["rank", 3], ["reveal", 4], ["leaderboard", 5], ["reveal", undefined], ["reveal", 1]]);
  assert.equal(c.lastVersion, 5);
  assert.deepEqual(players.slice(-2), [2, 3]);
});

test("the clock offset follows server_time from welcome, then the best pong", () => {
  const c = client();
  time.t = 500_000;
  const ws = joined(c, welcome({ server_time: 502_000 }));
  // welcome alone: the server is 2 s ahead
  assert.equal(c.clockOffset, 2000);
  assert.equal(c.serverNow(), 502_000);
  // the client pings right after the welcome; the pong comes back 100 ms later
  assert.deepEqual(ws.sent.at(-1), { type: "ping" });
  time.advance(100);
  ws.serverSend({ type: "pong", server_time: 502_150 });
  // server time at receipt = 502_150 + rtt/2 = 502_200; local = 500_100
  assert.equal(c.clockOffset, 2100);
  assert.equal(c.remaining(502_200 + 5000), 5000);
  // a slower round trip does not replace the better estimate
  c.ping();
  time.advance(900);
  ws.serverSend({ type: "pong", server_time: 600_000 });
  assert.equal(c.clockOffset, 2100);
});

test("a dropped connection reconnects with backoff and resumes", () => {
  const c = client();
  const reconnected = [];
  c.on("reconnected", (w) => reconnected.push(w));
  const ws = joined(c);
  const pending = c.answer(0, [1]);
  ws.serverClose(1006);
  assert.equal(c.state, "reconnecting");
  assert.equal(states.at(-1).delay, 100);
  assert.equal(FakeSocket.instances.length, 1);
  time.advance(99);
  assert.equal(FakeSocket.instances.length, 1);
  time.advance(1);
  const ws2 = FakeSocket.last();
  assert.equal(FakeSocket.instances.length, 2);
  // the second attempt fails too: the next delay doubles
  ws2.serverClose(1001);
  assert.equal(states.at(-1).delay, 200);
  time.advance(200);
  const ws3 = FakeSocket.last();
  ws3.serverOpen();
  assert.deepEqual(ws3.sent[0], { type: "resume", resume_token: "r1" });
  ws3.serverSend(welcome({ phase: "question", answered: true }));
  assert.equal(c.state, "open");
  assert.equal(reconnected.length, 1);
  assert.equal(reconnected[0].answered, true);
  return pending.then(
    () => assert.fail("an answer without ack must not resolve"),
    (e) => assert.equal(e.code, "disconnected"),
  );
});

test("4010 (session handed over) reconnects at once, then backs off as usual", () => {
  const c = client();
  const ws = joined(c);
  ws.serverClose(4010);
  assert.equal(c.state, "reconnecting");
  assert.equal(states.at(-1).delay, 0);
  assert.equal(states.at(-1).now, true);
  time.advance(0);
  const ws2 = FakeSocket.last();
  assert.equal(FakeSocket.instances.length, 2);
  // that attempt fails: the next one waits the usual backoff
  ws2.serverClose(1006);
  assert.equal(states.at(-1).delay, 200);
  time.advance(200);
  const ws3 = FakeSocket.last();
  ws3.serverOpen();
  assert.deepEqual(ws3.sent[0], { type: "resume", resume_token: "r1" });
  ws3.serverSend(welcome());
  assert.equal(c.state, "open");
});

test("versions survive a reconnect, so stale frames of the old connection stay dropped", () => {
  const c = client();
  const ws = joined(c);
  ws.serverSend({ type: "leaderboard", version: 10, top: [] });
  ws.serverClose(4008);
  time.advance(100);
  const ws2 = FakeSocket.last();
  ws2.serverOpen();
  ws2.serverSend(welcome());
  const got = [];
  c.on("leaderboard", (f) => got.push(f.version));
  ws2.serverSend({ type: "leaderboard", version: 9, top: [] });
  ws2.serverSend({ type: "leaderboard", version: 11, top: [] });
  assert.deepEqual(got, [11]);
});

test("final close codes do not reconnect; finished and removed forget the credential", () => {
  for (const [code, forgets] of [[4000, true], [4001, true], [4009, false], [4004, false]]) {
    FakeSocket.reset();
    storage = new MemoryStorage();
    states = [];
    const c = client();
    const ws = joined(c);
    ws.serverClose(code);
    time.advance(10_000);
    assert.equal(FakeSocket.instances.length, 1, `close ${code} must not reconnect`);
    assert.equal(c.state, "closed");
    assert.equal(states.at(-1).final, true);
    assert.equal(states.at(-1).code, code);
    assert.equal(c.storedCredential("493021") === null, forgets, `close ${code}`);
  }
});

test("a refused join reports the error frame with the close", () => {
  const c = client();
  c.connect("493021", { nickname: "Ann" });
  const ws = FakeSocket.last();
  ws.serverOpen();
  ws.serverSend({ type: "error", code: "nickname_taken", message: "taken" });
  ws.serverClose(4003);
  assert.equal(c.state, "closed");
  assert.equal(states.at(-1).error.code, "nickname_taken");
  assert.equal(states.at(-1).meaning, "join refused");
});

test("a refused stored resume token is forgotten", () => {
  storage.setItem("quiz-live:493021", JSON.stringify({ resume_token: "old" }));
  const c = client();
  c.connect("493021");
  const ws = FakeSocket.last();
  ws.serverOpen();
  assert.deepEqual(ws.sent[0], { type: "resume", resume_token: "old" });
  ws.serverSend({ type: "error", code: "bad_resume_token", message: "unknown" });
  ws.serverClose(4003);
  assert.equal(c.storedCredential("493021"), null);
});

test("reconnecting gives up after the configured attempts", () => {
  const c = client({ backoff: { attempts: 3 } });
  joined(c).serverClose(1006);
  for (let i = 0; i < 3; i++) {
    time.advance(5000);
    FakeSocket.last().serverClose(1006);
  }
  assert.equal(FakeSocket.instances.length, 4);
  assert.equal(c.state, "closed");
  assert.equal(states.at(-1).gaveUp, true);
});

test("close() stops reconnecting", () => {
  const c = client();
  joined(c).serverClose(1006);
  c.close();
  time.advance(10_000);
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(c.state, "closed");
});

test("a connection that fails before opening without a close event is retried", () => {
  const c = client();
  joined(c).serverClose(1006);
  time.advance(100);
  FakeSocket.last().failToConnect();
  assert.equal(c.state, "reconnecting");
  time.advance(200);
  assert.equal(FakeSocket.instances.length, 3);
  FakeSocket.last().serverOpen();
  assert.deepEqual(FakeSocket.last().sent[0], { type: "resume", resume_token: "r1" });
});

test("a connection that never answers is given up after the welcome timeout and retried", () => {
  const c = client({ welcomeTimeoutMs: 5000 });
  c.connect("493021", { nickname: "Ann" });
  FakeSocket.last().serverOpen();
  time.advance(4999);
  assert.equal(c.state, "connecting");
  time.advance(1);
  assert.equal(c.state, "reconnecting");
  assert.equal(FakeSocket.instances[0].closedWith, 1000);
  time.advance(100);
  assert.equal(FakeSocket.instances.length, 2);
  // after a welcome the timer is gone: nothing happens later
  FakeSocket.last().serverOpen();
  FakeSocket.last().serverSend(welcome());
  time.advance(60_000);
  assert.equal(c.state, "open");
});
