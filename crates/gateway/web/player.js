// The player page: joins a live session with quiz-client.js and renders its frames.
// No inline script or style (the gateway's CSP forbids both); the DOM is built with
// textContent only, so nothing a server or another player sends is parsed as HTML.
import { EXTRA_TIME, LiveClient, QuizApi, topPercent } from "/static/quiz-client.js";
import {
  $,
  choiceClass,
  clear,
  loadToken,
  renderBoard,
  renderPodium,
  safeSessionStorage,
  shapeIcon,
  SHAPES,
  show,
  showConnection,
  Standings,
} from "/static/page.js";

const CHECK = "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z";
const CROSS = "M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z";

// The standing after a question is shown from the reveal (see the reveal handler), so the
// connection declares it and the gateway leaves out the rank frame that would repeat it.
const live = new LiveClient({ storage: safeSessionStorage(), readsRevealStanding: true });
const ui = {
  question: null, // the open question frame
  selected: new Set(),
  answered: false,
  rank: null,
  percentile: null, // share of the other players this one is ahead of (rank frames, reveals)
  ranked: false, // a question has been revealed: ranks mean something
  score: 0,
  players: 0,
  me: null, // player_id
  timer: null,
  account: null, // the username of this tab's login token, when it is valid
};
const standings = new Standings();

// ---- connection state -------------------------------------------------------------------

live.on("state", (s) => {
  if (showConnection(s)) {
    // Refused or gone for good: back to the join form with the reason (shown once, there).
    $("conn").hidden = true;
    const why = s.error ? s.error.message : `disconnected: ${s.meaning}`;
    $("join-error").textContent = why.charAt(0).toUpperCase() + why.slice(1) + ".";
    $("join-button").disabled = false;
    stopTimer();
    show("join");
    let field = { unknown_session: "code", bad_pattern: "pattern" }[s.error?.code] ?? "nickname";
    if (field === "pattern") $("pattern-box").open = true;
    if (field === "nickname" && asAccount()) field = "as-account";
    $(field).focus();
  }
});

// ---- joining ----------------------------------------------------------------------------

$("join-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const code = $("code").value.trim();
  const nickname = $("nickname").value.trim();
  const pattern = $("pattern").value.trim();
  const token = asAccount() ? loadToken() : null;
  if (!/^[0-9]{6}$/.test(code)) return joinError("The game PIN has 6 digits.", "code");
  if (!token && !nickname) return joinError("Choose a nickname.", "nickname");
  if (pattern && !/^[1-6]{4}$/.test(pattern)) {
    $("pattern-box").open = true;
    return joinError("The join pattern is 4 digits from 1 to 6.", "pattern");
  }
  $("join-error").textContent = "";
  $("join-button").disabled = true;
  // A logged-in user joins with the login token (the nickname is then the username).
  const cred = token ? { token } : { nickname };
  if (pattern) cred.pattern = pattern;
  live.forget(code);
  live.connect(code, cred);
  history.replaceState(null, "", `?code=${code}`);
});

/** Whether the form joins with this tab's login (the user kept "Join as <username>"). */
function asAccount() {
  return ui.account !== null && $("as-account").checked;
}

function syncJoinAs() {
  $("guest-fields").hidden = asAccount();
}
$("as-account").addEventListener("change", syncJoinAs);
$("as-guest").addEventListener("change", syncJoinAs);

/** Offers "Join as <username>" when this tab is logged in (page.js keeps the token). */
async function offerAccount() {
  const token = loadToken();
  if (!token) return;
  let me;
  try {
    me = await new QuizApi({ token }).me();
    ui.account = me.username;
  } catch {
    return; // an expired or revoked token: join as a guest, as without one
  }
  $("as-account-label").textContent = `Join as ${me.username}`;
  $("as-box").hidden = false;
  // Someone already typing a nickname meant to play as a guest.
  if ($("nickname").value.trim()) $("as-guest").checked = true;
  const hadFocus = document.activeElement === $("nickname");
  syncJoinAs();
  if (hadFocus) $("as-account").focus();
}

function joinError(msg, field) {
  $("join-error").textContent = msg;
  $(field).focus();
}

$("again").addEventListener("click", () => {
  live.close();
  if (quickMatch) {
    location.assign("/match");
    return;
  }
  $("join-button").disabled = false;
  $("code").value = "";
  history.replaceState(null, "", location.pathname);
  show("join");
  $("code").focus();
});

// ---- frames -----------------------------------------------------------------------------

live.on("welcome", (w) => {
  ui.me = w.player_id ?? null;
  ui.players = w.players ?? 0;
  ui.score = w.score ?? 0;
  $("join-button").disabled = false;
  if (w.role === "host") {
    $("join-error").textContent = "This page is for players.";
    live.close();
    return;
  }
  $("lobby-name").textContent = w.nickname ?? "";
  // A resumed player past the first question has standings worth showing.
  ui.ranked = w.phase === "reveal" || (w.question?.index ?? 0) > 0;
  showLobbyCount();
  showStanding();
  if (w.question) openQuestion(w.question, !!w.answered);
  else if (w.phase === "lobby") show("lobby");
  else showWaiting();
});

live.on("question", (q) => openQuestion(q, false));

live.on("answer_ack", () => {
  ui.answered = true;
  renderLocked("Answer locked in. Waiting for the others…");
});

live.on("error", (e) => {
  if (e.req !== undefined || !$("question").hidden) {
    $("q-status").textContent = e.message;
    if (e.code === "already_answered") renderLocked("You already answered this question.");
    else if (e.code === "too_late" || e.code === "not_open") renderLocked("Time is up.");
    else unlockChoices();
  }
});

live.on("reveal", (r) => {
  stopTimer();
  const res = r.result;
  const verdict = $("verdict");
  let text = "Time's up";
  let cls = "none";
  if (res && res.answered) {
    text = res.correct ? "Correct!" : "Not quite";
    cls = res.correct ? "right" : "wrong";
  }
  verdict.className = "verdict " + cls;
  $("verdict-path").setAttribute("d", cls === "right" ? CHECK : CROSS);
  $("verdict-text").textContent = text;
  $("r-points").textContent = res ? `+${res.points}` : "+0";
  $("r-streak").textContent = res ? String(res.streak) : "0";
  if (res) ui.score = res.score;
  // The standing after this question comes with the reveal (this page declares that it reads
  // it here, so no rank frame repeats it); older servers send it in a rank frame only.
  if (res && typeof res.rank === "number") {
    ui.rank = res.rank;
    if (typeof res.players === "number") ui.players = res.players;
    ui.percentile = typeof res.percentile === "number" ? res.percentile : null;
  }
  $("r-score").textContent = String(ui.score);
  $("r-rank").textContent = ui.rank ? `${ui.rank} / ${ui.players}` : "–";
  ui.ranked = true;
  showStanding();
  const q = ui.question;
  if (q && q.index === r.question && Array.isArray(r.correct)) {
    // By shape, and by text unless the texts were only on the host's screen.
    const names = r.correct.map((i) =>
      q.hidden
        ? `${SHAPES[i % SHAPES.length].name} (choice ${i + 1})`
        : `${SHAPES[i % SHAPES.length].name} “${q.choices[i]?.text ?? i}”`);
    $("r-correct").textContent = `Correct: ${names.join(", ")}`;
  } else $("r-correct").textContent = "";
  ui.question = null;
  // The board compares with the standings of the reveal before (this question's points
  // follow in the next leaderboard frame).
  standings.revealed(r.question);
  renderBoard($("board"), standings.top, ui.me, standings.before);
  show("reveal");
});

live.on("rank", (r) => {
  ui.rank = r.rank;
  ui.score = r.score;
  ui.players = r.players ?? ui.players;
  ui.percentile = typeof r.percentile === "number" ? r.percentile : null;
  $("r-rank").textContent = `${r.rank} / ${ui.players}`;
  $("r-score").textContent = String(r.score);
  showStanding();
});

// The player count, from the welcome and every rank/leaderboard frame (rank frames are sent
// again whenever it changes, also in the lobby).
live.on("players", ({ players }) => {
  ui.players = players;
  showLobbyCount();
  showStanding();
});

/** A count as English text ("10,000"). */
function num(n) {
  return Number(n).toLocaleString("en");
}

/** "2 of 30 players joined" in the lobby ("2 players joined" when the cap is unknown). */
function showLobbyCount() {
  const n = ui.players;
  const cap = live.maxPlayers;
  $("lobby-count").textContent = cap
    ? `${num(n)} of ${num(cap)} ${cap === 1 ? "player" : "players"} joined`
    : `${num(n)} ${n === 1 ? "player" : "players"} joined`;
}

/** "Rank 2 of 30 · top 7% · ahead of 93% of the others" under the question and the reveal,
 *  from the latest rank frame; empty before the first reveal (nobody has points yet). */
function showStanding() {
  let text = "";
  if (ui.ranked && ui.rank && ui.players) {
    text = `Rank ${ui.rank} of ${num(ui.players)} · top ${topPercent(ui.rank, ui.players)}%`;
    if (ui.percentile !== null && ui.players > 1) text += ` · ahead of ${ui.percentile}% of the others`;
  }
  $("q-standing").textContent = text;
  $("r-standing").textContent = text;
}

live.on("leaderboard", (b) => {
  standings.update(b.top);
  renderBoard($("board"), standings.top, ui.me, standings.before);
});

live.on("finished", (f) => {
  stopTimer();
  renderPodium($("podium"), f.top, ui.me, standings.before);
  const you = f.you;
  $("you").textContent = you
    ? `You finished ${ordinal(you.rank)} of ${f.players} with ${you.score} points.`
    : "The game is over.";
  $("you-percentile").textContent =
    you && typeof f.percentile === "number" && f.players > 1
      ? `Top ${topPercent(you.rank, f.players)}% · ahead of ${f.percentile}% of the other players.`
      : "";
  renderBoard($("final-board"), (f.top || []).slice(3), ui.me, standings.before);
  show("finished");
});


function ordinal(n) {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] || "th";
  return `${n}${s}`;
}

function showWaiting() {
  $("verdict").className = "verdict none";
  $("verdict-text").textContent = "Waiting for the next question…";
  $("r-score").textContent = String(ui.score);
  show("reveal");
}

// ---- question ---------------------------------------------------------------------------

function openQuestion(q, answered) {
  ui.question = q;
  ui.selected = new Set();
  ui.answered = answered;
  $("q-index").textContent = `Question ${q.index + 1} of ${q.total}`;
  // Sessions that keep the texts on the host's screen send them empty, with `hidden`.
  $("q-text").textContent = q.hidden ? "Look at the host's screen" : q.text;
  $("q-hint").textContent = q.multiple ? "Choose every correct answer, then submit." : "";
  // The deadline and limit are this player's own (longer with extra time); kept on the
  // screen's element too, where they can be read back.
  $("question").dataset.deadline = String(q.deadline);
  $("question").dataset.timeLimit = String(q.time_limit_ms);
  const extra = q.extra_time_percent ?? EXTRA_TIME.min;
  $("q-extra").hidden = !(extra > EXTRA_TIME.min);
  $("q-extra").textContent = extra > EXTRA_TIME.min ? `You have extra time (x${extra / 100})` : "";
  showStanding();
  $("q-status").textContent = "";
  $("submit").hidden = !q.multiple;
  $("submit").disabled = false;
  const box = $("choices");
  box.classList.remove("locked");
  box.classList.toggle("shapes-only", !!q.hidden);
  clear(box);
  q.choices.forEach((c, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `choice ${choiceClass(c.index)}`;
    b.dataset.index = String(c.index);
    if (q.multiple) b.setAttribute("aria-pressed", "false");
    b.setAttribute("aria-keyshortcuts", String(i + 1));
    const key = document.createElement("span");
    key.className = "key";
    key.textContent = String(i + 1);
    const text = document.createElement("span");
    text.className = "ctext";
    if (q.hidden) {
      // No text to show: the shape's name says which tile of the host's screen it is.
      const shape = SHAPES[c.index % SHAPES.length].name;
      text.textContent = shape.charAt(0).toUpperCase() + shape.slice(1);
      b.setAttribute("aria-label", `${text.textContent}, choice ${i + 1}`);
    } else text.textContent = c.text;
    b.append(shapeIcon(c.index), text, key);
    b.addEventListener("click", () => pick(c.index));
    box.appendChild(b);
  });
  show("question");
  if (answered) {
    // A resume only says that the answer was taken; this tab may remember which it was.
    const picked = recallPick(q);
    for (const b of box.children) {
      if (picked.includes(Number(b.dataset.index))) b.classList.add("picked");
    }
    renderLocked("Answer locked in. Waiting for the others…");
  }
  startTimer(q);
}

function pick(index) {
  const q = ui.question;
  if (!q || ui.answered) return;
  if (q.multiple) {
    if (ui.selected.has(index)) ui.selected.delete(index);
    else ui.selected.add(index);
    for (const b of $("choices").children) {
      b.setAttribute("aria-pressed", String(ui.selected.has(Number(b.dataset.index))));
    }
    return;
  }
  ui.selected = new Set([index]);
  send();
}

function send() {
  const q = ui.question;
  if (!q || ui.answered || ui.selected.size === 0) return;
  const choices = [...ui.selected];
  ui.answered = true;
  for (const b of $("choices").children) {
    b.disabled = true;
    if (ui.selected.has(Number(b.dataset.index))) b.classList.add("picked");
  }
  $("submit").disabled = true;
  $("q-status").textContent = "Sending…";
  rememberPick(q, choices);
  live.answer(q.index, choices).catch(() => {
    // answer_ack / error events update the screen; a lost connection resumes and the
    // welcome says whether the answer was taken.
  });
}

// The choices sent for the open question, per tab, so a reload can show them again.
const PICK_KEY = "quiz-picked";

function rememberPick(q, choices) {
  try {
    sessionStorage.setItem(PICK_KEY, JSON.stringify({ code: live.code, opened_at: q.opened_at, choices }));
  } catch {
    // no storage: the resumed screen just shows the answer as locked
  }
}

function recallPick(q) {
  try {
    const p = JSON.parse(sessionStorage.getItem(PICK_KEY) || "null");
    return p && p.code === live.code && p.opened_at === q.opened_at ? p.choices : [];
  } catch {
    return [];
  }
}

function renderLocked(msg) {
  ui.answered = true;
  for (const b of $("choices").children) b.disabled = true;
  $("submit").disabled = true;
  $("choices").classList.add("locked");
  $("q-status").textContent = msg;
}

function unlockChoices() {
  ui.answered = false;
  for (const b of $("choices").children) {
    b.disabled = false;
    b.classList.remove("picked");
  }
  $("submit").disabled = false;
  $("choices").classList.remove("locked");
}

$("submit").addEventListener("click", send);

document.addEventListener("keydown", (ev) => {
  if ($("question").hidden || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const n = Number(ev.key);
  const q = ui.question;
  if (q && Number.isInteger(n) && n >= 1 && n <= q.choices.length) {
    ev.preventDefault();
    pick(q.choices[n - 1].index);
  } else if (ev.key === "Enter" && q?.multiple && !(ev.target instanceof HTMLButtonElement)) {
    send();
  }
});

function startTimer(q) {
  stopTimer();
  const tick = () => {
    const left = live.remaining(q.deadline);
    $("q-seconds").textContent = String(Math.ceil(left / 1000));
    $("q-progress").value = Math.round((1000 * left) / Math.max(1, q.time_limit_ms));
    if (left <= 0) {
      stopTimer();
      if (!ui.answered) renderLocked("Time is up.");
    }
  };
  tick();
  ui.timer = setInterval(tick, 200);
}

function stopTimer() {
  if (ui.timer !== null) clearInterval(ui.timer);
  ui.timer = null;
}

// ---- start ------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
const code = (params.get("code") || "").replace(/\D/g, "").slice(0, 6);
// `match=1`: the quick-match page sent this tab here with the code of its match, a session
// run by the server (no host) that only its players join, each with their login token.
const quickMatch = params.get("match") === "1";
$("code").value = code;
if (quickMatch) {
  $("lobby-wait").textContent = "Waiting for the other players: the game starts when everyone is in.";
  $("again").textContent = "Find another match";
}
if (code && live.storedCredential(code)) {
  // A reload (or a return to the tab) resumes as the same player.
  live.connect(code);
} else if (code && quickMatch && loadToken()) {
  live.connect(code, { token: loadToken() });
} else {
  show("join");
  $(code ? "nickname" : "code").focus();
}
offerAccount();
