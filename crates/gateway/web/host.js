// The host page: logs in, creates a live session of one of the user's quizzes and runs it
// (lobby with join code and QR code, questions, reveals, podium, report) through
// quiz-client.js. No inline script or style (the gateway's CSP forbids both): bar widths are
// set through the CSSOM (`el.style.width`), which the CSP allows, and the DOM is built with
// textContent only, so no nickname is ever parsed as HTML.
import { LiveClient, QuizApi } from "/static/quiz-client.js";
import {
  $,
  clear,
  errorMessage as message,
  loadToken,
  logout,
  renderBoard,
  renderPodium,
  safeSessionStorage,
  saveToken,
  show,
  wireLogin,
} from "/static/page.js";

const SESSION_KEY = "quiz-host:session";

const storage = safeSessionStorage();
const api = new QuizApi({ token: loadToken() });
const live = new LiveClient({ storage });
const ui = {
  session: null, // {session_id, code}
  players: 0,
  roster: new Map(), // player_id -> {nickname, away}
  question: null,
  counts: null,
  answered: 0,
  top: [],
  locked: false,
  timer: null,
  reportUrl: null,
};


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
  show("setup");
}

$("setup-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const quizId = Number($("quiz").value);
  const reveal = Number($("reveal").value);
  const top = Number($("top").value);
  if (!Number.isInteger(reveal) || reveal < 0 || reveal > 60) {
    $("setup-error").textContent = "The pause is 0 to 60 seconds.";
    return;
  }
  if (!Number.isInteger(top) || top < 1 || top > 100) {
    $("setup-error").textContent = "The leaderboard size is 1 to 100.";
    return;
  }
  $("create-button").disabled = true;
  try {
    const s = await api.createLiveSession({ quiz_id: quizId, reveal_ms: reveal * 1000, top_n: top });
    $("setup-error").textContent = "";
    begin({ session_id: s.session_id, code: s.code }, { host_token: s.host_token });
  } catch (e) {
    $("setup-error").textContent = message(e);
  } finally {
    $("create-button").disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  await logout(api);
  show("login");
  $("username").focus();
});

// ---- the session ------------------------------------------------------------------------

/** Connects as host of `session` and shows the lobby. */
function begin(session, credential) {
  ui.session = session;
  ui.roster.clear();
  ui.players = 0;
  storage?.setItem(SESSION_KEY, JSON.stringify(session));
  const url = `${location.origin}/?code=${session.code}`;
  $("pin").textContent = session.code;
  $("finished").dataset.session = String(session.session_id);
  $("join-url").textContent = url;
  $("qr").src = `/qr.svg?code=${encodeURIComponent(session.code)}`;
  renderRoster();
  show("lobby");
  live.connect(session.code, credential);
}

live.on("state", (s) => {
  const conn = $("conn");
  conn.className = "conn " + s.state;
  if (s.state === "open") {
    conn.hidden = true;
    return;
  }
  conn.hidden = false;
  if (s.state === "connecting") conn.textContent = "Connecting…";
  else if (s.state === "reconnecting") conn.textContent = `Reconnecting… (${s.attempt})`;
  else if (s.state === "closed") {
    conn.textContent = s.error ? s.error.message : s.meaning;
    if (!$("finished").hidden) {
      conn.hidden = s.code === 4000 || s.code === 1000;
      return;
    }
    stopTimer();
    storage?.removeItem(SESSION_KEY);
  }
});

live.on("welcome", (w) => {
  ui.players = w.players ?? 0;
  setLocked(Boolean(w.locked));
  if (w.question) renderQuestion(w.question);
  updateCount();
});

live.on("roster", (r) => {
  ui.players = r.players;
  if (r.event === "joined") ui.roster.set(r.player_id, { nickname: r.nickname, away: false });
  else if (r.event === "left") {
    const p = ui.roster.get(r.player_id);
    if (p) p.away = true;
  } else ui.roster.delete(r.player_id);
  renderRoster();
  updateCount();
});

function updateCount() {
  const n = ui.players;
  $("lobby-count").textContent = `${n} player${n === 1 ? "" : "s"} joined`;
  if (ui.question && !ui.counts) $("answered").textContent = `answered 0 of ${n}`;
}

function renderRoster() {
  const ul = $("roster");
  clear(ul);
  for (const [id, p] of ui.roster) {
    const li = document.createElement("li");
    if (p.away) li.classList.add("away");
    const name = document.createElement("span");
    name.className = "roster-name";
    name.textContent = p.away ? `${p.nickname} (away)` : p.nickname;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${p.nickname}`);
    remove.addEventListener("click", () => command(() => live.remove(id), "lobby-error"));
    const ban = document.createElement("button");
    ban.type = "button";
    ban.textContent = "Ban";
    ban.setAttribute("aria-label", `Ban ${p.nickname}`);
    ban.addEventListener("click", () => command(() => live.ban(id), "lobby-error"));
    li.append(name, remove, ban);
    ul.appendChild(li);
  }
}

function setLocked(locked) {
  ui.locked = locked;
  const b = $("lock");
  b.setAttribute("aria-pressed", String(locked));
  b.textContent = locked ? "Unlock joins" : "Lock joins";
}

live.on("joins_locked", (f) => setLocked(Boolean(f.locked)));
live.on("join_pattern", (p) => {
  $("pattern").textContent = p.pattern;
  $("pattern-line").hidden = false;
});
live.on("error", (e) => {
  const screen = [...document.querySelectorAll(".screen")].find((s) => !s.hidden)?.id;
  const target = screen === "finished" ? "report-error" : "lobby-error";
  $(target).textContent = e.message || e.code;
});

$("lock").addEventListener("click", () =>
  command(() => (ui.locked ? live.unlock() : live.lock()), "lobby-error"));
$("start").addEventListener("click", () => command(() => live.start(), "lobby-error"));
$("skip").addEventListener("click", () => command(() => live.skip()));
$("next").addEventListener("click", () => command(() => live.skip()));
$("end").addEventListener("click", () => command(() => live.end()));

// ---- questions --------------------------------------------------------------------------

live.on("question", renderQuestion);

function renderQuestion(q) {
  ui.question = q;
  ui.counts = null;
  ui.answered = 0;
  $("q-index").textContent = `Question ${q.index + 1} of ${q.total}`;
  $("q-text").textContent = q.text;
  const ol = $("q-choices");
  clear(ol);
  for (const c of q.choices) {
    const li = document.createElement("li");
    li.className = `c${c.index % 6}`;
    li.textContent = c.text;
    ol.appendChild(li);
  }
  $("answered").textContent = `answered 0 of ${ui.players}`;
  startTimer(q);
  show("question");
}

live.on("answer_counts", (a) => {
  if (!ui.question || a.question !== ui.question.index) return;
  ui.counts = a.counts;
  ui.answered = a.answered;
  ui.players = a.players;
  $("answered").textContent = `answered ${a.answered} of ${a.players}`;
});

function startTimer(q) {
  stopTimer();
  const tick = () => {
    const left = live.remaining(q.deadline);
    $("q-seconds").textContent = String(Math.ceil(left / 1000));
    $("q-progress").value = Math.round((1000 * left) / Math.max(1, q.time_limit_ms));
    if (left <= 0) stopTimer();
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
  const q = ui.question;
  $("r-text").textContent = q ? q.text : `Question ${r.question + 1}`;
  const ol = $("bars");
  clear(ol);
  const counts = r.counts || [];
  const max = Math.max(1, ...counts);
  const correct = new Set(r.correct || []);
  counts.forEach((n, i) => {
    const li = document.createElement("li");
    li.className = "bar-row" + (correct.has(i) ? " correct" : "");
    const label = document.createElement("span");
    label.className = "bar-label";
    const text = q?.choices?.find((c) => c.index === i)?.text ?? `Choice ${i + 1}`;
    label.textContent = (correct.has(i) ? "✓ " : "") + text;
    const track = document.createElement("span");
    track.className = "bar-track";
    const bar = document.createElement("span");
    bar.className = `bar-fill c${i % 6}`;
    bar.style.width = `${(100 * n) / max}%`; // CSSOM, allowed by the CSP
    track.appendChild(bar);
    const count = document.createElement("span");
    count.className = "bar-count";
    count.textContent = String(n);
    li.append(label, track, count);
    if (correct.has(i)) li.setAttribute("aria-label", `${text}: ${n} (correct)`);
    ol.appendChild(li);
  });
  // A single-answer question's counts add up to the answers; a multiple-answer one's do not,
  // so it keeps the last answer_counts figure (the final one may not have come before this).
  const answered = q && !q.multiple ? counts.reduce((a, b) => a + b, 0) : ui.answered;
  $("r-answered").textContent = `answered ${answered} of ${ui.players}`;
  ui.question = null;
  renderBoard($("board"), ui.top);
  show("reveal");
  $("next").focus();
});

live.on("leaderboard", (l) => {
  ui.top = l.top || [];
  renderBoard($("board"), ui.top);
});


// ---- the end ----------------------------------------------------------------------------

live.on("finished", (f) => {
  stopTimer();
  renderPodium($("podium"), f.top);
  renderBoard($("final-board"), (f.top || []).slice(3));
  storage?.removeItem(SESSION_KEY);
  show("finished");
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
  ui.top = [];
  $("report-link").hidden = true;
  setup().catch((e) => {
    $("login-error").textContent = message(e);
    show("login");
  });
});

// ---- start-up ---------------------------------------------------------------------------

async function boot() {
  if (!api.token) {
    show("login");
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
    show("login");
    $("username").focus();
  }
}

boot();
