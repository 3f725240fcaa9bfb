// Session options and host accommodations in quiz-client.js: extra time, the host's roster
// (from the welcome, kept current by roster frames), the player count and cap, percentiles,
// questions hidden on devices.
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";

import { EXTRA_TIME, LiveClient, LiveError, topPercent } from "../quiz-client.js";
import { FakeSocket, FakeTime, MemoryStorage } from "./fakes.js";

const playerWelcome = (extra = {}) => ({
  type: "welcome", protocol: 2, session_id: 7, code: "493021", role: "player", player_id: 3,
  nickname: "Ann", resume_token: "r1", phase: "lobby", score: 0, players: 1,
  server_time: 1_000_000, max_players: 30, extra_time_percent: 150, ...extra,
});

const hostWelcome = (extra = {}) => ({
  type: "welcome", protocol: 2, session_id: 7, code: "493021", role: "host", phase: "question",
  players: 2, server_time: 1_000_000, locked: true, max_players: 30,
  roster: [
    { player_id: 3, nickname: "Ann", connected: true, extra_time_percent: 100 },
    { player_id: 9, nickname: "Bo", connected: false, extra_time_percent: 200 },
  ],
  answer_counts: { question: 0, answered: 1, players: 2, counts: [0, 1, 0] },
  ...extra,
});

let time;

function client() {
  return new LiveClient({
    baseUrl: "https://quiz.example",
    WebSocket: FakeSocket,
    storage: new MemoryStorage(),
    pingIntervalMs: 0,
    ...time.options(),
  });
}

function connected(c, welcome, credential) {
  c.connect("493021", credential);
  const ws = FakeSocket.last();
  ws.serverOpen();
  ws.serverSend(welcome);
  ws.sent.length = 0; // the hello and the first ping
  return ws;
}

beforeEach(() => {
  FakeSocket.reset();
  time = new FakeTime();
});

test("extraTime sends the documented frame and refuses percents out of range locally", () => {
  const c = client();
  const ws = connected(c, hostWelcome(), { host_token: "h" });
  c.extraTime(9, 150);
  c.extraTime(3, EXTRA_TIME.min);
  c.extraTime(3, EXTRA_TIME.max);
  assert.deepEqual(ws.sent, [
    { type: "extra_time", player_id: 9, percent: 150 },
    { type: "extra_time", player_id: 3, percent: 100 },
    { type: "extra_time", player_id: 3, percent: 300 },
  ]);
  for (const bad of [99, 301, 150.5, "150", null]) {
    assert.throws(() => c.extraTime(9, bad), (e) => e instanceof LiveError && e.code === "bad_extra_time");
  }
  assert.equal(ws.sent.length, 3, "nothing sent for a bad percent");
});

test("the host's roster comes from the welcome and follows roster frames", () => {
  const c = client();
  const lists = [];
  c.on("roster_changed", (l) => lists.push(l));
  const ws = connected(c, hostWelcome(), { host_token: "h" });
  assert.deepEqual(c.rosterList(), hostWelcome().roster);
  assert.equal(lists.length, 1);
  assert.equal(c.welcome.answer_counts.answered, 1);
  assert.equal(c.welcome.locked, true);

  ws.serverSend({ type: "roster", player_id: 9, nickname: "Bo", event: "extra_time", players: 2, extra_time_percent: 150 });
  assert.equal(c.roster.get(9).extra_time_percent, 150);
  assert.equal(c.roster.get(9).connected, false, "extra time does not change presence");
  ws.serverSend({ type: "roster", player_id: 9, nickname: "Bo", event: "joined", players: 2, extra_time_percent: 150 });
  assert.equal(c.roster.get(9).connected, true);
  ws.serverSend({ type: "roster", player_id: 12, nickname: "Cy", event: "joined", players: 3, extra_time_percent: 100 });
  ws.serverSend({ type: "roster", player_id: 3, nickname: "Ann", event: "left", players: 3 });
  assert.equal(c.roster.get(3).connected, false);
  ws.serverSend({ type: "roster", player_id: 9, nickname: "Bo", event: "banned", players: 2 });
  assert.deepEqual(
    c.rosterList().map((e) => [e.player_id, e.connected, e.extra_time_percent]),
    [[3, false, 100], [12, true, 100]],
  );
  assert.equal(lists.length, 6);
  assert.equal(c.players, 2);
});

test("a reconnecting host rebuilds its roster from the new welcome", () => {
  const c = client();
  const ws = connected(c, hostWelcome(), { host_token: "h" });
  ws.serverSend({ type: "roster", player_id: 12, nickname: "Cy", event: "joined", players: 3 });
  ws.serverClose(1006);
  time.advance(2_000);
  const again = FakeSocket.last();
  assert.notEqual(again, ws);
  again.serverOpen();
  again.serverSend(hostWelcome({ roster: [{ player_id: 3, nickname: "Ann", connected: true, extra_time_percent: 100 }] }));
  assert.deepEqual(c.rosterList().map((e) => e.player_id), [3]);
});

test("players see the count and the cap from the welcome, rank and leaderboard frames", () => {
  const c = client();
  const seen = [];
  c.on("players", (p) => seen.push(p));
  const ws = connected(c, playerWelcome(), { nickname: "Ann" });
  assert.equal(c.maxPlayers, 30);
  assert.equal(c.players, 1);
  assert.equal(c.welcome.extra_time_percent, 150);
  assert.equal(c.roster.size, 0, "players have no roster");
  ws.serverSend({ type: "rank", version: 5, rank: 1, score: 0, players: 2, changed_at: 1, percentile: 0 });
  ws.serverSend({ type: "rank", version: 6, rank: 1, score: 0, players: 2, changed_at: 1, percentile: 0 });
  ws.serverSend({ type: "leaderboard", version: 7, top: [], players: 3, changed_at: 2 });
  // A stale frame changes nothing.
  ws.serverSend({ type: "rank", version: 4, rank: 1, score: 0, players: 9, changed_at: 0, percentile: 0 });
  assert.deepEqual(seen, [
    { players: 1, maxPlayers: 30 },
    { players: 2, maxPlayers: 30 },
    { players: 3, maxPlayers: 30 },
  ]);
  assert.equal(c.players, 3);
});

test("rank percentiles and hidden questions reach listeners as sent", () => {
  const c = client();
  const ws = connected(c, playerWelcome(), { nickname: "Ann" });
  const ranks = [];
  const questions = [];
  c.on("rank", (r) => ranks.push(r.percentile));
  c.on("question", (q) => questions.push(q));
  ws.serverSend({ type: "rank", version: 1, rank: 2, score: 900, players: 10, changed_at: 1, percentile: 77 });
  const hidden = {
    type: "question", index: 0, total: 3, text: "", hidden: true, multiple: false,
    choices: [{ index: 0, text: "" }, { index: 1, text: "" }], opened_at: 1, deadline: 15_001,
    time_limit_ms: 15_000, extra_time_percent: 150,
  };
  ws.serverSend(hidden);
  assert.deepEqual(ranks, [77]);
  assert.deepEqual(questions, [hidden]);
});

test("topPercent turns a rank into a 'top X%' label", () => {
  assert.equal(topPercent(1, 10), 10);
  assert.equal(topPercent(3, 10), 30);
  assert.equal(topPercent(1, 1), 100);
  assert.equal(topPercent(1, 1000), 1);
  assert.equal(topPercent(7, 9), 78);
  assert.equal(topPercent(1, 0), null);
  assert.equal(topPercent(0, 5), null);
});
