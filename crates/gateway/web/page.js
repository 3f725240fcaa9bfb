// DOM helpers shared by the pages (player, host, author, account): element lookup, screens,
// session storage, the signed-in user's token, the login form, error text, the choices' shapes,
// and the leaderboard and podium lists (with rank movement). (quiz-client.js stays free of the DOM; this is the page side.)
import { ApiError } from "/static/quiz-client.js";

/**
 * Storage key of the bearer token. One key for every page, kept in `sessionStorage`: logging in
 * on one page of a tab signs in the others, and closing the tab forgets the token.
 */
export const TOKEN_KEY = "quiz:token";

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** `sessionStorage`, or null where storage is disabled (play on, without resume on reload). */
export function safeSessionStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/** The stored bearer token of this tab, or null. */
export function loadToken() {
  return safeSessionStorage()?.getItem(TOKEN_KEY) ?? null;
}

/** Stores (or, with null, forgets) the bearer token of this tab. */
export function saveToken(token) {
  const s = safeSessionStorage();
  if (token) s?.setItem(TOKEN_KEY, token);
  else s?.removeItem(TOKEN_KEY);
}

/** A readable message for an error thrown by `QuizApi` or anything else. */
export function errorMessage(e) {
  if (e instanceof ApiError) return e.detail || e.title || `HTTP ${e.status}`;
  return e?.message || String(e);
}

/**
 * Wires a login form: the elements `username`, `password`, `login-error` and `login-button`
 * inside the form with id `formId`. On success the token is stored and set on `api`, and
 * `onLoggedIn()` runs; its errors show in the same place.
 */
export function wireLogin(api, formId, onLoggedIn) {
  $(formId).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      $("login-error").textContent = "Enter your username and password.";
      return;
    }
    $("login-button").disabled = true;
    try {
      const t = await api.login(username, password);
      saveToken(t.token);
      $("password").value = "";
      $("login-error").textContent = "";
      await onLoggedIn();
    } catch (e) {
      $("login-error").textContent =
        e instanceof ApiError && e.status === 401 ? "Wrong username or password." : errorMessage(e);
    } finally {
      $("login-button").disabled = false;
    }
  });
}

/** Logs out on the server (ignoring an already dead token) and forgets the token. */
export async function logout(api) {
  try {
    await api.logout();
  } catch {
    // the token may already be gone; forget it anyway
  }
  api.token = null;
  saveToken(null);
}

/**
 * Shows a `LiveClient` "state" event in the header's `#conn` badge. Returns true when the
 * connection closed for good before the final results (the page then says why its own way);
 * after the final results a normal close hides the badge.
 */
export function showConnection(s) {
  const conn = $("conn");
  conn.className = "conn " + s.state;
  conn.hidden = s.state === "open";
  if (s.state === "connecting") conn.textContent = "Connecting…";
  else if (s.state === "reconnecting") conn.textContent = `Reconnecting… (${s.attempt})`;
  else if (s.state === "closed") {
    conn.textContent = s.error ? s.error.message : s.meaning;
    // The final results say it all; no alarming badge after a normal end.
    if (!$("finished").hidden) {
      conn.hidden = s.code === 4000 || s.code === 1000;
      return false;
    }
    return true;
  }
  return false;
}

/** Shows the `.screen` with this id, hides the others, and moves focus to its heading. */
export function show(id) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== id;
  const focus = $(id).querySelector("h1");
  if (focus) {
    focus.tabIndex = -1;
    focus.focus({ preventScroll: true });
  }
}

/** Removes every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// ---- choices: colour AND shape per choice index ----------------------------------------

const SVG = "http://www.w3.org/2000/svg";

/**
 * The shape of each choice index (mod 6), drawn next to its colour (`.c0`-`.c5` in app.css), so
 * colour-blind players and hosts can tell the choices apart. The player's buttons, the host's
 * tiles and the host's answer chart all use these.
 */
export const SHAPES = [
  { name: "triangle", el: "polygon", attrs: { points: "12,3 22,21 2,21" } },
  { name: "diamond", el: "polygon", attrs: { points: "12,2 22,12 12,22 2,12" } },
  { name: "circle", el: "circle", attrs: { cx: "12", cy: "12", r: "10" } },
  { name: "square", el: "rect", attrs: { x: "3", y: "3", width: "18", height: "18" } },
  {
    name: "star",
    el: "polygon",
    attrs: { points: "12,2 14.9,8.6 22,9.3 16.6,14 18.2,21 12,17.3 5.8,21 7.4,14 2,9.3 9.1,8.6" },
  },
  { name: "hexagon", el: "polygon", attrs: { points: "6.5,3 17.5,3 23,12 17.5,21 6.5,21 1,12" } },
];

/** The colour class (`c0`-`c5`) of choice index `i`. */
export const choiceClass = (i) => `c${i % SHAPES.length}`;

/** An inline SVG (class `shape`, hidden from screen readers) of the shape of choice index `i`. */
export function shapeIcon(i) {
  const s = SHAPES[i % SHAPES.length];
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("shape");
  const el = document.createElementNS(SVG, s.el);
  for (const [k, v] of Object.entries(s.attrs)) el.setAttribute(k, v);
  svg.appendChild(el);
  return svg;
}

// ---- leaderboards -----------------------------------------------------------------------

/**
 * How each player of the standings `top` moved since the standings `previous` (an earlier
 * leaderboard's `top`, or null for none): a Map from `player_id` to `{kind, by}`, with `kind`
 * `up` / `down` (by `by` places), `same`, or `new` (not on the earlier list: a new player, or
 * one who climbed into the top N). Empty when `previous` is null.
 */
export function rankMoves(top, previous) {
  const moves = new Map();
  if (!previous) return moves;
  const before = new Map(previous.map((p) => [p.player_id, p.rank]));
  for (const p of top || []) {
    const was = before.get(p.player_id);
    let m = { kind: "same", by: 0 };
    if (was === undefined) m = { kind: "new", by: 0 };
    else if (was > p.rank) m = { kind: "up", by: was - p.rank };
    else if (was < p.rank) m = { kind: "down", by: p.rank - was };
    moves.set(p.player_id, m);
  }
  return moves;
}

/** The movement mark of one row: a symbol for the eye and words for screen readers. */
function moveMark(m) {
  const places = (n) => `${n} place${n === 1 ? "" : "s"}`;
  const [shown, said] = {
    up: [`▲${m.by}`, `up ${places(m.by)}`],
    down: [`▼${m.by}`, `down ${places(m.by)}`],
    same: ["=", "unchanged"],
    new: ["new", "new on the board"],
  }[m.kind];
  const span = document.createElement("span");
  span.className = `move ${m.kind}`;
  const eye = document.createElement("span");
  eye.setAttribute("aria-hidden", "true");
  eye.textContent = shown;
  const sr = document.createElement("span");
  sr.className = "sr-only";
  sr.textContent = ` (${said})`;
  span.append(eye, sr);
  return span;
}

/**
 * Fills the `<ol>` with standings (rank as the item number); the row of `me` is marked. With
 * `previous` (the standings of the leaderboard shown before), each row also shows how its
 * player moved since then (see `rankMoves`).
 */
export function renderBoard(ol, top, me = null, previous = null) {
  clear(ol);
  const moves = rankMoves(top, previous);
  for (const p of top || []) {
    const li = document.createElement("li");
    li.value = p.rank;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = p.nickname;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = String(p.score);
    li.append(name);
    if (moves.has(p.player_id)) li.append(moveMark(moves.get(p.player_id)));
    li.append(score);
    if (me !== null && p.player_id === me) li.classList.add("me");
    ol.appendChild(li);
  }
}

/**
 * Fills the podium list with the first three standings; the place of `me` is marked, and with
 * `previous` each place shows its player's movement as in `renderBoard`.
 */
export function renderPodium(ol, top, me = null, previous = null) {
  clear(ol);
  const medals = ["first", "second", "third"];
  const moves = rankMoves(top, previous);
  for (const p of (top || []).slice(0, 3)) {
    const li = document.createElement("li");
    li.className = "place " + (medals[p.rank - 1] || "");
    const cells = [
      ["place-rank", String(p.rank)],
      ["place-name", p.nickname],
      ["place-score", String(p.score)],
    ];
    for (const [cls, text] of cells) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      li.appendChild(span);
      if (cls === "place-name" && moves.has(p.player_id)) li.appendChild(moveMark(moves.get(p.player_id)));
    }
    if (me !== null && p.player_id === me) li.classList.add("me");
    ol.appendChild(li);
  }
}

/**
 * The standings a page has seen, and the ones to compare the next leaderboards with: those
 * known when the last reveal came, i.e. the board of the reveal before (a reveal's points come
 * in the first leaderboard frame after it). So the boards after a reveal, and the final one,
 * show the moves its question caused. After the first reveal there is nothing to compare with.
 */
export class Standings {
  constructor() {
    /** The latest top list (`leaderboard.top`). */
    this.top = [];
    /** The top list when the last reveal came, or null. */
    this.before = null;
  }

  /** Forgets everything (a new game). */
  reset() {
    this.top = [];
    this.before = null;
  }

  /** A `leaderboard` frame came: keeps its top list. */
  update(top) {
    this.top = top || [];
  }

  /** The reveal of question `index` came: later boards are compared with the standings now. */
  revealed(index) {
    this.before = index > 0 && this.top.length > 0 ? this.top.slice() : null;
  }
}
