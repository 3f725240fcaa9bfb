// DOM helpers shared by the player and host pages: element lookup, screens, session storage,
// and the leaderboard and podium lists. (quiz-client.js stays free of the DOM; this is the
// page side.)

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
