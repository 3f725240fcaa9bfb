// DOM helpers shared by the pages (player, host, author, account): element lookup, screens,
// session storage, the signed-in user's token, the login form, error text, and the leaderboard
// and podium lists. (quiz-client.js stays free of the DOM; this is the page side.)
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

/** Fills the `<ol>` with standings (rank as the item number); the row of `me` is marked. */
export function renderBoard(ol, top, me = null) {
  clear(ol);
  for (const p of top || []) {
    const li = document.createElement("li");
    li.value = p.rank;
    const name = document.createElement("span");
    name.textContent = p.nickname;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = String(p.score);
    li.append(name, score);
    if (me !== null && p.player_id === me) li.classList.add("me");
    ol.appendChild(li);
  }
}

/** Fills the podium list with the first three standings; the place of `me` is marked. */
export function renderPodium(ol, top, me = null) {
  clear(ol);
  const medals = ["first", "second", "third"];
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
    }
    if (me !== null && p.player_id === me) li.classList.add("me");
    ol.appendChild(li);
  }
}
