// The host page: logs in, creates a live session of one of the user's quizzes and runs it
// (lobby with join code and QR code, questions, reveals, podium, report) through
// quiz-client.js. No inline script or style (the gateway's CSP forbids both): bar widths are
// set through the CSSOM (`el.style.width`), which the CSP allows, and the DOM is built with
// textContent only, so no nickname is ever parsed as HTML.
import { ApiError, EXTRA_TIME, LiveClient, QuizApi } from "/static/quiz-client.js";
import {
  $,
  choiceClass,
  clear,
  errorMessage as message,
  loadToken,
  logout,
  renderBoard,
  renderPodium,
  safeSessionStorage,
  saveToken,
  shapeIcon,
  show,
  showConnection,
  Standings,
  wireLogin,
} from "/static/page.js";

const SESSION_KEY = "quiz-host:session";

const storage = safeSessionStorage();
const api = new QuizApi({ token: loadToken() });
const live = new LiveClient({ storage });
const ui = {
  session: null, // {session_id, code}
  players: 0,
  question: null,
  counts: null,
  answered: 0,
  last: null, // the last question shown (its reveal may come after `question` is cleared)
  locked: false,
  timer: null,
  reportUrl: null,
  pattern: null, // {pattern, expires_at, span} of two-step sessions
  patternTimer: null,
  extraPending: null, // the player_id of the last extra-time request not yet confirmed
  cap: null, // the session's player cap (welcome.max_players), null when unknown
};
const standings = new Standings();

// The screens during which the players panel (roster, extra time, Remove, Ban) is shown.
const GAME_SCREENS = new Set(["lobby", "question", "reveal", "standings"]);

/** Shows a screen (page.js `show`) and the players panel with the game's screens: open in
 *  the lobby, closed (a disclosure the host may open) once the first question shows. */
function showScreen(id) {
  const from = currentScreen();
  show(id);
  const box = $("players-box");
  box.hidden = !GAME_SCREENS.has(id);
  if (id === "lobby") box.open = true;
  else if (from === "lobby" && id === "question") box.open = false;
}

/** The id of the screen showing. */
function currentScreen() {
  return [...document.querySelectorAll(".screen")].find((s) => !s.hidden)?.id;
}

/** Sends a host command; a command sent while reconnecting is reported, not thrown. */
function command(fn, errorId) {
  try {
    fn();
    if (errorId) $(errorId).textContent = "";
  } catch (e) {
    if (errorId) $(errorId).textContent = message(e);
  }
}

// ---- login and setup --------------------------------------------------------------------

wireLogin(api, "login-form", setup);

async function setup() {
  const me = await api.me();
  const page = await api.listQuizzes({ author_id: me.id, limit: 100 });
  const select = $("quiz");
  clear(select);
  for (const q of page.items || []) {
    const opt = document.createElement("option");
    opt.value = String(q.id);
    opt.textContent = `${q.title} (${q.question_count} question${q.question_count === 1 ? "" : "s"})`;
    select.appendChild(opt);
  }
  const none = select.options.length === 0;
  $("create-button").disabled = none;
  $("setup-error").textContent = none ? "You have no quizzes yet: create one through the API first." : "";
  showScreen("setup");
}

// The setup form's numbers, by input id: [smallest, largest, the message when out of range,
// whole numbers only].
const LIMITS = {
  "reveal-pause": [0, 60, "The pause after a reveal is 0 to 60 seconds.", true],
  top: [1, 100, "The leaderboard size is 1 to 100.", true],
  "max-points": [1, 100000, "The points for a correct answer are 1 to 100000.", true],
  "full-window": [0, 60, "The full-points window is 0 to 60 seconds.", false],
  "streak-step": [0, 100000, "The streak bonus per answer is 0 to 100000.", true],
  "streak-cap": [0, 100000, "The largest streak bonus is 0 to 100000.", true],
  "max-players": [1, 1000000, "The most players is a whole number from 1 (or empty for the server's limit).", true],
};

/** Marks the field `id` as the one to fix (opening the Scoring group if it is in it). */
function setupError(msg, id = null) {
  for (const el of $("setup-form").querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  $("setup-error").textContent = msg;
  if (!id) return;
  const field = $(id);
  field.setAttribute("aria-invalid", "true");
  if ($("scoring-box").contains(field)) $("scoring-box").open = true;
  field.focus();
}

/** Reads a number field: its value, or throws [message, id] when it is out of its limits. */
function numberField(id) {
  const [min, max, msg, whole] = LIMITS[id];
  const raw = $(id).value.trim();
  const n = Number(raw);
  if (raw === "" || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
    throw [msg, id];
  }
  return n;
}

/** The `POST /v1/live/sessions` body of the form, or throws [message, field id]. */
function sessionOptions() {
  const quizId = Number($("quiz").value);
  if (!Number.isInteger(quizId) || quizId <= 0) throw ["Pick a quiz.", "quiz"];
  const streak = $("streak").checked;
  // With the streak bonus off its (disabled) fields do not matter: whatever they hold is sent
  // if valid, else 0.
  const bonus = (id) => {
    try {
      return numberField(id);
    } catch (e) {
      if (streak) throw e;
      return 0;
    }
  };
  const speed = $("speed").checked;
  // Without points for speed the (disabled) full-points window does not matter either.
  const fullWindow = () => {
    try {
      return Math.round(numberField("full-window") * 1000);
    } catch (e) {
      if (speed) throw e;
      return 0;
    }
  };
  const options = {
    quiz_id: quizId,
    reveal_ms: numberField("reveal-pause") * 1000,
    top_n: numberField("top"),
    scoring: {
      max_points: numberField("max-points"),
      full_points_ms: fullWindow(),
      streak,
      streak_step: bonus("streak-step"),
      streak_cap: bonus("streak-cap"),
      speed,
    },
    show_question_on_devices: $("show-question").checked,
    two_step: $("two-step").checked,
    generated_nicknames: $("generated-names").checked,
    nickname_filter: $("name-filter").checked,
  };
  if ($("max-players").value.trim() !== "") options.max_players = numberField("max-players");
  return options;
}

// Which form field a 422 from the server is about (its detail names the API field).
const SERVER_FIELDS = [
  ["reveal_ms", "reveal-pause"],
  ["top_n", "top"],
  ["max_players", "max-players"],
  ["scoring.max_points", "max-points"],
  ["scoring.full_points_ms", "full-window"],
  ["scoring.streak", "streak-step"],
];

$("speed").addEventListener("change", () => {
  $("full-window").disabled = !$("speed").checked;
});

$("streak").addEventListener("change", () => {
  const on = $("streak").checked;
  $("streak-step").disabled = !on;
  $("streak-cap").disabled = !on;
});

$("setup-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  let options;
  try {
    options = sessionOptions();
  } catch (e) {
    if (Array.isArray(e)) return setupError(e[0], e[1]);
    throw e;
  }
  $("create-button").disabled = true;
  try {
    const s = await api.createLiveSession(options);
    setupError("");
    begin({ session_id: s.session_id, code: s.code }, { host_token: s.host_token });
  } catch (e) {
    if (e instanceof ApiError && e.status === 422) {
      const field = SERVER_FIELDS.find(([api]) => (e.detail || "").startsWith(api))?.[1] ?? null;
      setupError(`The server refused these settings: ${message(e)}`, field);
    } else setupError(message(e));
  } finally {
    $("create-button").disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  await logout(api);
  showScreen("login");
  $("username").focus();
});

// ---- the session ------------------------------------------------------------------------

/** Connects as host of `session` and shows the lobby. */
function begin(session, credential) {
  ui.session = session;
  ui.players = 0;
  ui.cap = null;
  ui.extraPending = null;
  ui.pattern = null;
  $("pattern-box").hidden = true;
  storage?.setItem(SESSION_KEY, JSON.stringify(session));
  const url = `${location.origin}/?code=${session.code}`;
  $("pin").textContent = session.code;
  $("finished").dataset.session = String(session.session_id);
  $("join-url").textContent = url;
  $("qr").src = `/qr.svg?code=${encodeURIComponent(session.code)}`;
  $("roster-error").textContent = "";
  renderRoster([]);
  updateCount();
  showScreen("lobby");
  live.connect(session.code, credential);
}

live.on("state", (s) => {
  if (!showConnection(s)) return;
  stopTimer();
  stopPattern();
  storage?.removeItem(SESSION_KEY);
});

live.on("welcome", (w) => {
  ui.players = w.players ?? 0;
  ui.cap = live.maxPlayers;
  setLocked(Boolean(w.locked));
  if (w.question) {
    renderQuestion(w.question);
    // A reloaded page gets the open question's counts so far in the welcome.
    if (w.answer_counts) showCounts(w.answer_counts);
  } else if (w.phase === "reveal" && currentScreen() === "lobby") {
    // Reloaded between questions (a reconnect keeps the reveal on screen): the leaderboard screen has Next and End. The server sends
    // the top list when it changes, not to a host that reconnects, so it may stay empty.
    clear($("board"));
    $("board-note").textContent = "Reconnected between questions: the leaderboard shows again when it next changes.";
    showScreen("standings");
  }
  updateCount();
});

// The player count (welcome, roster, answer_counts, leaderboard frames) and the cap.
live.on("players", ({ players }) => {
  ui.players = players;
  updateCount();
});

// The roster as the client keeps it: from the welcome (so a reloaded page has every player
// at once), then from roster frames (joined, left, removed, banned, extra_time).
live.on("roster_changed", (list) => renderRoster(list));

live.on("roster", (r) => {
  if (r.event === "extra_time" && r.player_id === ui.extraPending) ui.extraPending = null;
});

/** "2 of 30 players joined" (without "of N" when the server did not say its cap). */
function updateCount() {
  const n = ui.players;
  const cap = ui.cap;
  $("lobby-count").textContent = cap
    ? `${num(n)} of ${num(cap)} player${cap === 1 ? "" : "s"} joined`
    : `${num(n)} player${n === 1 ? "" : "s"} joined`;
  $("players-summary").textContent = cap ? `Players (${num(n)} of ${num(cap)})` : `Players (${num(n)})`;
  if (ui.question && !ui.counts) $("answered").textContent = `answered 0 of ${n}`;
}

/** A count as English text ("10,000"). */
function num(n) {
  return Number(n).toLocaleString("en");
}

// The extra time a host can pick per player, in percent of each question's limit.
const EXTRA_CHOICES = [
  [EXTRA_TIME.min, "none"],
  [150, "x1.5"],
  [200, "x2"],
  [EXTRA_TIME.max, "x3"],
];

/** "x1.5" for 150 percent. */
function factor(percent) {
  return `x${Math.round(percent) / 100}`;
}

/**
 * Brings the roster list in line with `list` (the client's roster, by player id). Rows are
 * kept and updated in place, so a control being used keeps the focus when others join.
 */
function renderRoster(list) {
  const ul = $("roster");
  const rows = new Map([...ul.children].map((li) => [Number(li.dataset.player), li]));
  const seen = new Set();
  let at = ul.firstChild;
  for (const p of list) {
    seen.add(p.player_id);
    let li = rows.get(p.player_id);
    if (!li) li = rosterRow(p.player_id);
    if (li !== at) ul.insertBefore(li, at);
    at = li.nextSibling;
    updateRow(li, p);
  }
  for (const [id, li] of rows) if (!seen.has(id)) li.remove();
}

/** One roster row (filled by `updateRow`): name, extra time (select and confirmation),
 *  Remove, Ban, and the row's error. */
function rosterRow(id) {
  const li = document.createElement("li");
  li.dataset.player = String(id);
  const name = document.createElement("span");
  name.className = "roster-name";
  const extra = document.createElement("span");
  extra.className = "roster-extra";
  const label = document.createElement("label");
  label.className = "roster-time";
  const caption = document.createElement("span");
  caption.textContent = "Extra time";
  const select = document.createElement("select");
  select.className = "extra-time";
  for (const [percent, text] of EXTRA_CHOICES) {
    const opt = document.createElement("option");
    opt.value = String(percent);
    opt.textContent = text;
    select.appendChild(opt);
  }
  select.addEventListener("change", () => setExtraTime(li, id, Number(select.value)));
  label.append(caption, select);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove";
  remove.textContent = "Remove";
  remove.addEventListener("click", () => command(() => live.remove(id), "roster-error"));
  const ban = document.createElement("button");
  ban.type = "button";
  ban.className = "ban";
  ban.textContent = "Ban";
  ban.addEventListener("click", () => command(() => live.ban(id), "roster-error"));
  const error = document.createElement("span");
  error.className = "roster-row-error error";
  error.setAttribute("role", "alert");
  li.append(name, extra, label, remove, ban, error);
  return li;
}

/** Shows a roster entry ({player_id, nickname, connected, extra_time_percent}) in its row. */
function updateRow(li, p) {
  const away = p.connected === false;
  const percent = p.extra_time_percent ?? EXTRA_TIME.min;
  li.classList.toggle("away", away);
  li.dataset.extraTime = String(percent);
  li.querySelector(".roster-name").textContent = away ? `${p.nickname} (away)` : p.nickname;
  // The confirmed extra time, from the server's roster frames (or the welcome).
  li.querySelector(".roster-extra").textContent = percent > EXTRA_TIME.min ? `${factor(percent)} time` : "";
  const select = li.querySelector("select");
  select.setAttribute("aria-label", `Extra time for ${p.nickname}`);
  if (![...select.options].some((o) => Number(o.value) === percent)) {
    // Set by another client to a value the list lacks (e.g. 125): offer it too.
    const opt = document.createElement("option");
    opt.value = String(percent);
    opt.textContent = factor(percent);
    select.appendChild(opt);
  }
  select.value = String(percent);
  li.querySelector(".remove").setAttribute("aria-label", `Remove ${p.nickname}`);
  li.querySelector(".ban").setAttribute("aria-label", `Ban ${p.nickname}`);
}

/** Sends a player's new extra time; the row shows it once the server confirms it. */
function setExtraTime(li, id, percent) {
  const error = li.querySelector(".roster-row-error");
  error.textContent = "";
  try {
    live.extraTime(id, percent);
    ui.extraPending = id;
  } catch (e) {
    error.textContent = message(e);
    // Back to what the server has.
    const entry = live.roster.get(id);
    if (entry) updateRow(li, entry);
  }
}

function setLocked(locked) {
  ui.locked = locked;
  const b = $("lock");
  b.setAttribute("aria-pressed", String(locked));
  b.textContent = locked ? "Unlock joins" : "Lock joins";
}

live.on("joins_locked", (f) => setLocked(Boolean(f.locked)));
// Two-step sessions: the pattern players must enter with the code. It rotates (the server
// says when the current one expires); the lobby shows it large, one tile per symbol, with the
// time until the next one.
live.on("join_pattern", (p) => {
  const previous = ui.pattern;
  // The rotation period is the gap between two expiry times; before the second frame, the
  // time left of the first is the best guess.
  const span = previous && p.expires_at > previous.expires_at
    ? p.expires_at - previous.expires_at
    : Math.max(1000, live.remaining(p.expires_at));
  ui.pattern = { pattern: String(p.pattern), expires_at: p.expires_at, span };
  const box = $("pattern");
  clear(box);
  for (const ch of ui.pattern.pattern) {
    const tile = document.createElement("span");
    tile.className = "pattern-tile";
    tile.textContent = ch;
    box.appendChild(tile);
  }
  box.setAttribute("aria-label", `Join pattern ${[...ui.pattern.pattern].join(" ")}`);
  $("pattern-box").hidden = false;
  if (!ui.patternTimer) ui.patternTimer = setInterval(tickPattern, 250);
  tickPattern();
});

function tickPattern() {
  const p = ui.pattern;
  if (!p) return;
  const left = live.remaining(p.expires_at);
  $("pattern-seconds").textContent = String(Math.ceil(left / 1000));
  $("pattern-progress").value = Math.round((1000 * left) / Math.max(1, p.span));
}

function stopPattern() {
  if (ui.patternTimer) clearInterval(ui.patternTimer);
  ui.patternTimer = null;
}
live.on("error", (e) => {
  const text = e.message || e.code;
  if (ui.extraPending !== null && (e.code === "bad_extra_time" || e.code === "unknown_player")) {
    // The answer to the last extra-time change: shown on that player's row, if still there.
    const id = ui.extraPending;
    ui.extraPending = null;
    const li = $("roster").querySelector(`li[data-player="${id}"]`);
    if (li) {
      li.querySelector(".roster-row-error").textContent = text;
      const entry = live.roster.get(id);
      if (entry) updateRow(li, entry);
      return;
    }
  }
  const screen = currentScreen();
  const target = screen === "finished" ? "report-error" : screen === "lobby" ? "lobby-error" : "roster-error";
  $(target).textContent = text;
});

$("lock").addEventListener("click", () =>
  command(() => (ui.locked ? live.unlock() : live.lock()), "lobby-error"));
$("start").addEventListener("click", () => command(() => live.start(), "lobby-error"));
$("skip").addEventListener("click", () => command(() => live.skip()));
$("next").addEventListener("click", () => command(() => live.skip()));
$("board-next").addEventListener("click", () => command(() => live.skip()));
$("end").addEventListener("click", () => command(() => live.end()));
$("board-end").addEventListener("click", () => command(() => live.end()));
$("to-board").addEventListener("click", () => {
  showScreen("standings");
  $("board-next").focus();
});

// ---- questions --------------------------------------------------------------------------

live.on("question", renderQuestion);

function renderQuestion(q) {
  ui.question = q;
  ui.last = q;
  ui.counts = null;
  ui.answered = 0;
  $("q-index").textContent = `Question ${q.index + 1} of ${q.total}`;
  $("q-text").textContent = q.text;
  const ol = $("q-choices");
  clear(ol);
  // The same colour and shape per choice index as the players' buttons.
  for (const c of q.choices) {
    const li = document.createElement("li");
    li.className = choiceClass(c.index);
    const text = document.createElement("span");
    text.className = "ctext";
    text.textContent = c.text;
    li.append(shapeIcon(c.index), text);
    ol.appendChild(li);
  }
  $("answered").textContent = `answered 0 of ${ui.players}`;
  startTimer(q);
  showScreen("question");
}

live.on("answer_counts", showCounts);

function showCounts(a) {
  if (!ui.question || a.question !== ui.question.index) return;
  ui.counts = a.counts;
  ui.answered = a.answered;
  ui.players = a.players;
  $("answered").textContent = `answered ${a.answered} of ${a.players}`;
}

/** The countdown follows the room's deadline. With players who have extra time (the frame's
 *  `latest_deadline`), a line says how much longer they may have, and once the room's time
 *  is up, how long the question may still wait for them. */
function startTimer(q) {
  stopTimer();
  const latest = typeof q.latest_deadline === "number" && q.latest_deadline > q.deadline ? q.latest_deadline : null;
  const note = $("q-extra");
  const tick = () => {
    const left = live.remaining(q.deadline);
    $("q-seconds").textContent = String(Math.ceil(left / 1000));
    $("q-progress").value = Math.round((1000 * left) / Math.max(1, q.time_limit_ms));
    if (latest === null) note.textContent = "";
    else if (left > 0) {
      const more = Math.ceil((latest - q.deadline) / 1000);
      note.textContent = `Extra time: players who have it may answer up to ${more} s more.`;
    } else {
      const wait = Math.ceil(live.remaining(latest) / 1000);
      note.textContent = `Time is up, except for players with extra time: up to ${wait} s more.`;
    }
    if (live.remaining(latest ?? q.deadline) <= 0) stopTimer();
  };
  tick();
  ui.timer = setInterval(tick, 200);
}

function stopTimer() {
  if (ui.timer) clearInterval(ui.timer);
  ui.timer = null;
}

// ---- reveal and leaderboard -------------------------------------------------------------

live.on("reveal", (r) => {
  stopTimer();
  const q = ui.last && ui.last.index === r.question ? ui.last : null;
  $("r-text").textContent = q ? q.text : `Question ${r.question + 1}`;
  const ol = $("bars");
  clear(ol);
  const counts = r.counts || [];
  const max = Math.max(1, ...counts);
  const correct = new Set(r.correct || []);
  counts.forEach((n, i) => {
    const right = correct.has(i);
    const li = document.createElement("li");
    li.className = "bar-row" + (right ? " correct" : "");
    const label = document.createElement("span");
    label.className = "bar-label";
    const swatch = document.createElement("span");
    swatch.className = `swatch ${choiceClass(i)}`;
    swatch.appendChild(shapeIcon(i));
    const text = q?.choices?.find((c) => c.index === i)?.text ?? `Choice ${i + 1}`;
    const name = document.createElement("span");
    name.className = "bar-text";
    name.textContent = text;
    label.append(swatch, name);
    if (right) {
      // Marked by a tick and a word, not by colour alone.
      const mark = document.createElement("span");
      mark.className = "bar-mark";
      mark.textContent = "✓ correct";
      label.appendChild(mark);
    }
    const track = document.createElement("span");
    track.className = "bar-track";
    const bar = document.createElement("span");
    bar.className = `bar-fill ${choiceClass(i)}`;
    bar.style.width = `${(100 * n) / max}%`; // CSSOM, allowed by the CSP
    track.appendChild(bar);
    const count = document.createElement("span");
    count.className = "bar-count";
    count.textContent = String(n);
    li.append(label, track, count);
    ol.appendChild(li);
  });
  // A single-answer question's counts add up to the answers; a multiple-answer one's do not,
  // so it keeps the last answer_counts figure (the final one may not have come before this).
  const answered = q && !q.multiple ? counts.reduce((a, b) => a + b, 0) : ui.answered;
  $("r-answered").textContent = `answered ${answered} of ${ui.players}`;
  const last = q ? q.index + 1 >= q.total : false;
  for (const id of ["next", "board-next"]) $(id).textContent = last ? "Final results" : "Next question";
  ui.question = null;
  standings.revealed(r.question);
  const after = q ? `After question ${q.index + 1} of ${q.total}` : "";
  $("board-note").textContent = after && standings.before ? `${after}; ▲▼ show the moves since the question before.` : after;
  renderBoard($("board"), standings.top, null, standings.before);
  showScreen("reveal");
  $("to-board").focus();
});

live.on("leaderboard", (l) => {
  standings.update(l.top);
  renderBoard($("board"), standings.top, null, standings.before);
});

// ---- the end ----------------------------------------------------------------------------

live.on("finished", (f) => {
  stopTimer();
  stopPattern();
  renderPodium($("podium"), f.top, null, standings.before);
  renderBoard($("final-board"), (f.top || []).slice(3), null, standings.before);
  storage?.removeItem(SESSION_KEY);
  showScreen("finished");
});

$("report").addEventListener("click", async () => {
  const s = ui.session;
  if (!s) return;
  try {
    // The report needs the bearer token, so a plain link cannot fetch it: fetch it here and
    // hand the browser a Blob URL to save.
    const resp = await api.fetch(`/v1/live/sessions/${encodeURIComponent(s.session_id)}/report?format=csv`, {
      headers: { authorization: `Bearer ${api.token}`, accept: "text/csv" },
    });
    if (!resp.ok) throw new Error(`the report could not be fetched (HTTP ${resp.status})`);
    const blob = await resp.blob();
    if (ui.reportUrl) URL.revokeObjectURL(ui.reportUrl);
    ui.reportUrl = URL.createObjectURL(blob);
    const a = $("report-link");
    a.href = ui.reportUrl;
    a.download = `live-session-${s.session_id}.csv`;
    a.dataset.bytes = String(blob.size);
    a.textContent = a.download;
    a.hidden = false;
    $("report-error").textContent = "";
    a.focus();
  } catch (e) {
    $("report-error").textContent = message(e);
  }
});

$("again").addEventListener("click", () => {
  ui.session = null;
  ui.last = null;
  standings.reset();
  $("report-link").hidden = true;
  setup().catch((e) => {
    $("login-error").textContent = message(e);
    showScreen("login");
  });
});

// ---- start-up ---------------------------------------------------------------------------

async function boot() {
  if (!api.token) {
    showScreen("login");
    $("username").focus();
    return;
  }
  // A reload during a game reconnects with the stored host token.
  const saved = storage?.getItem(SESSION_KEY);
  if (saved) {
    try {
      const s = JSON.parse(saved);
      if (s && /^[0-9]{6}$/.test(s.code) && live.storedCredential(s.code)) {
        begin(s, undefined);
        return;
      }
    } catch {
      storage?.removeItem(SESSION_KEY);
    }
  }
  try {
    await setup();
  } catch {
    api.token = null;
    saveToken(null);
    showScreen("login");
    $("username").focus();
  }
}

boot();
