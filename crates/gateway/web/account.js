// The account page: register, log in and out, the user's progress (practice accuracy per topic
// as an SVG bar chart, totals, live games) and practice mode (a quiz one question at a time,
// with the verdict and the explanation after each answer, and a summary at the end).
//
// All REST calls go through QuizApi (quiz-client.js); the token is shared with the other pages
// of the tab through page.js. No inline script or style (the gateway's CSP forbids both): the
// chart is built with createElementNS and sized with SVG attributes, its colours come from
// account.css, and everything the server sends is inserted with textContent only.
import { ApiError, QuizApi } from "/static/quiz-client.js";
import { $, clear, errorMessage, loadToken, logout, saveToken, show, wireLogin } from "/static/page.js";

const SVG = "http://www.w3.org/2000/svg";

/** The server's longest accepted answer time (ms). */
const MAX_TIME_MS = 86_400_000;

/** The chart's geometry: pixels per topic row, and the track's share of the width (%). */
const CHART = { row: 46, labelY: 16, barY: 23, barHeight: 16, track: 80, topicChars: 36 };

const api = new QuizApi({ token: loadToken() });
const ui = {
  me: null, // the logged-in user
  lastQuiz: null, // id of the quiz practised last (preselected in the list)
  run: null, // the practice run: {quiz, attemptId, index, results, shownAt, answered}
  registerBlockedUntil: 0, // Date.now() until which a 429 keeps the register button off
};

// ---- routing (#/progress, #/practice) -----------------------------------------------------

const ROUTES = {
  "#/progress": { open: openProgress, error: "progress-error", nav: "nav-progress" },
  "#/practice": { open: openPractice, error: "pick-error", nav: "nav-practice" },
};

/** Shows the part of the page the URL's fragment names (progress by default). */
function route() {
  if (!ui.me) {
    showLogin();
    return;
  }
  const r = ROUTES[location.hash] ?? ROUTES["#/progress"];
  for (const { nav } of Object.values(ROUTES)) {
    if (nav === r.nav) $(nav).setAttribute("aria-current", "page");
    else $(nav).removeAttribute("aria-current");
  }
  r.open().catch((e) => failed(e, r.error));
}

window.addEventListener("hashchange", route);
// A link to the fragment the page is already at fires no hashchange: route anyway, so
// "Pick another quiz" leaves the summary and "Progress" reloads the numbers.
document.addEventListener("click", (ev) => {
  const a = ev.target instanceof Element ? ev.target.closest('a[href^="#/"]') : null;
  if (a && a.getAttribute("href") === location.hash) route();
});

/**
 * Handles an error of a REST call: a 401 (expired or revoked token) goes back to the login
 * form; anything else is shown in the element `errorId`.
 */
function failed(e, errorId) {
  if (e instanceof ApiError && e.status === 401) {
    api.token = null;
    saveToken(null);
    showLogin("Your session has ended: log in again.");
    return;
  }
  if (errorId) $(errorId).textContent = errorMessage(e);
}

// ---- logging in, registering, logging out -------------------------------------------------

/** Shows the login and register forms (logged out), with an optional status line. */
function showLogin(status = "") {
  ui.me = null;
  ui.run = null;
  $("account-bar").hidden = true;
  $("login-status").textContent = status;
  show("login");
  $("username").focus();
}

/** After a login (or with a stored token): who is logged in, then the page the URL names. */
async function signedIn() {
  ui.me = await api.me();
  $("who").textContent = ui.me.username;
  $("who-role").textContent = `(${ui.me.role})`;
  $("account-bar").hidden = false;
  $("login-status").textContent = "";
  route();
}

wireLogin(api, "login-form", signedIn);

$("logout").addEventListener("click", async () => {
  await logout(api);
  showLogin("You are logged out.");
});

/** Shows `message` beside the input `id` (and marks it invalid), or clears it. */
function setFieldError(id, message) {
  $(`${id}-error`).textContent = message;
  if (message) $(id).setAttribute("aria-invalid", "true");
  else $(id).removeAttribute("aria-invalid");
}

$("register-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const username = $("reg-username").value.trim();
  const password = $("reg-password").value;
  setFieldError("reg-username", "");
  setFieldError("reg-password", "");
  $("register-error").textContent = "";
  $("register-button").disabled = true;
  try {
    await api.register(username, password);
  } catch (e) {
    registerFailed(e);
    return;
  } finally {
    if (Date.now() >= ui.registerBlockedUntil) $("register-button").disabled = false;
  }
  // The account exists: log in with it right away.
  try {
    const t = await api.login(username, password);
    saveToken(t.token);
    $("reg-username").value = "";
    $("reg-password").value = "";
    await signedIn();
  } catch (e) {
    $("register-error").textContent =
      `Your account was created, but logging in failed: ${errorMessage(e)} Log in above.`;
  }
});

/** Shows why a registration was refused: field errors beside their fields, and the rest. */
function registerFailed(e) {
  if (!(e instanceof ApiError)) {
    failed(e, "register-error");
    return;
  }
  if (e.status === 422) {
    const fields = ["username", "password"];
    for (const f of fields) setFieldError(`reg-${f}`, e.fieldErrors(f).join(" "));
    const other = e.errors.filter((x) => !fields.includes(x.field)).map((x) => x.message);
    $("register-error").textContent = other.length
      ? other.join(" ")
      : "Please correct the fields marked above.";
    const first = fields.find((f) => e.fieldErrors(f).length);
    if (first) $(`reg-${first}`).focus();
  } else if (e.status === 409) {
    setFieldError("reg-username", "This username is already taken: choose another one.");
    $("register-error").textContent = "Please correct the fields marked above.";
    $("reg-username").focus();
  } else if (e.status === 429 || e.status === 503) {
    const wait = e.retryAfter ?? 60;
    $("register-error").textContent =
      e.status === 429
        ? `Too many new accounts from this address. Try again in ${wait} s.`
        : `The server is busy. Try again in ${wait} s.`;
    ui.registerBlockedUntil = Date.now() + wait * 1000;
    $("register-button").disabled = true;
    setTimeout(() => {
      $("register-button").disabled = false;
    }, wait * 1000);
  } else {
    $("register-error").textContent = errorMessage(e);
  }
}

// ---- progress ----------------------------------------------------------------------------

/** "67%" for 0.667, or "–" when nothing was answered. */
function percent(accuracy, answered) {
  if (!answered) return "–";
  return `${Math.round(clamp01(accuracy) * 100)}%`;
}

function clamp01(x) {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

async function openProgress() {
  const section = $("progress");
  section.setAttribute("aria-busy", "true");
  $("progress-error").textContent = "";
  show("progress");
  try {
    renderProgress(await api.progress());
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}

function renderProgress(p) {
  $("t-answered").textContent = String(p.answered);
  $("t-correct").textContent = String(p.correct);
  $("t-accuracy").textContent = percent(p.accuracy, p.answered);
  $("t-streak").textContent = String(p.current_streak);
  $("t-best").textContent = String(p.best_streak);

  const topics = p.topics || [];
  renderChart($("chart"), topics);
  $("chart-empty").hidden = topics.length > 0;
  $("chart-details").hidden = topics.length === 0;
  const body = $("topic-rows");
  clear(body);
  for (const t of topics) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = t.topic;
    tr.appendChild(th);
    for (const v of [String(t.answered), String(t.correct), percent(t.accuracy, t.answered)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }

  const live = p.live || { sessions: 0, answered: 0, correct: 0, accuracy: 0 };
  $("l-sessions").textContent = String(live.sessions);
  $("l-answered").textContent = String(live.answered);
  $("l-correct").textContent = String(live.correct);
  $("l-accuracy").textContent = percent(live.accuracy, live.answered);
}

/** An SVG element with these attributes. */
function svgEl(name, attrs = {}) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Draws one row per topic into `svg`: the topic's name, a track and a bar whose width is the
 * accuracy (a share of the track, in % of the chart's width, so it follows the page's width
 * without a viewBox and the text keeps the page's font size), and the percentage. Each row is
 * an image with a text equivalent (`aria-label` and `<title>`); the table under the chart
 * repeats the numbers.
 */
function renderChart(svg, topics) {
  clear(svg);
  svg.setAttribute("height", String(topics.length * CHART.row));
  topics.forEach((t, i) => {
    const share = clamp01(t.accuracy);
    const label = `${t.topic}: ${percent(t.accuracy, t.answered)} correct (${t.correct} of ${t.answered})`;
    const row = svgEl("g", {
      class: "chart-row",
      role: "img",
      "aria-label": label,
      "data-topic": t.topic,
      "data-accuracy": t.accuracy,
      transform: `translate(0 ${i * CHART.row})`,
    });
    const title = svgEl("title");
    title.textContent = label;
    const name = svgEl("text", { class: "chart-topic", x: 0, y: CHART.labelY });
    name.textContent =
      t.topic.length > CHART.topicChars ? `${t.topic.slice(0, CHART.topicChars - 1)}…` : t.topic;
    const bar = { x: 0, y: CHART.barY, height: CHART.barHeight, rx: 3 };
    const track = svgEl("rect", { ...bar, class: "chart-track", width: `${CHART.track}%` });
    const fill = svgEl("rect", {
      ...bar,
      class: "chart-fill",
      width: `${(share * CHART.track).toFixed(2)}%`,
    });
    const value = svgEl("text", {
      class: "chart-value",
      x: "100%",
      y: CHART.barY + CHART.barHeight - 3,
      "text-anchor": "end",
    });
    value.textContent = percent(t.accuracy, t.answered);
    row.append(title, name, track, fill, value);
    svg.appendChild(row);
  });
}

// ---- practice ----------------------------------------------------------------------------

async function openPractice() {
  const section = $("practice");
  section.setAttribute("aria-busy", "true");
  ui.run = null;
  $("pick-error").textContent = "";
  show("practice");
  try {
    const page = await api.listQuizzes({ limit: 100 });
    const select = $("quiz");
    clear(select);
    for (const q of page.items || []) {
      if (!q.question_count) continue;
      const opt = document.createElement("option");
      opt.value = String(q.id);
      opt.textContent = `${q.title} (${q.question_count} question${q.question_count === 1 ? "" : "s"})`;
      if (q.id === ui.lastQuiz) opt.selected = true;
      select.appendChild(opt);
    }
    const none = select.options.length === 0;
    $("start-button").disabled = none;
    if (none) $("pick-error").textContent = "There are no quizzes to practise yet.";
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}

$("pick-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = Number($("quiz").value);
  if (!id) return;
  $("start-button").disabled = true;
  try {
    await startRun(id);
  } catch (e) {
    failed(e, "pick-error");
  } finally {
    $("start-button").disabled = false;
  }
});

/** Starts an attempt at quiz `quizId` and shows its first question. */
async function startRun(quizId) {
  const quiz = await api.getQuiz(quizId);
  if (!quiz.questions?.length) throw new Error("This quiz has no questions.");
  const attempt = await api.startAttempt(quizId);
  ui.lastQuiz = quizId;
  ui.run = { quiz, attemptId: attempt.id, index: 0, results: [], shownAt: 0, answered: false };
  renderQuestion();
}

function currentQuestion() {
  const run = ui.run;
  return run ? run.quiz.questions[run.index].question : null;
}

function renderQuestion() {
  const run = ui.run;
  const q = currentQuestion();
  const total = run.quiz.questions.length;
  $("pq-index").textContent = `Question ${run.index + 1} of ${total}`;
  $("pq-topic").textContent = q.topic;
  $("pq-text").textContent = q.text;
  $("pq-hint").textContent = q.multiple_correct
    ? "Choose every correct answer, then submit."
    : "Choose one answer, then submit.";
  const box = $("pq-choices");
  clear(box);
  q.choices.forEach((c, i) => {
    const label = document.createElement("label");
    label.className = "pchoice";
    const input = document.createElement("input");
    input.type = q.multiple_correct ? "checkbox" : "radio";
    input.name = "choice";
    input.value = String(c.id);
    input.id = `pc-${i}`;
    const text = document.createElement("span");
    text.className = "ctext";
    text.textContent = c.text;
    const mark = document.createElement("span");
    mark.className = "pmark";
    label.append(input, text, mark);
    box.appendChild(label);
  });
  $("pq-fieldset").disabled = false;
  $("pq-error").textContent = "";
  $("submit-answer").hidden = false;
  $("submit-answer").disabled = false;
  $("pq-result").hidden = true;
  $("next-button").hidden = true;
  run.answered = false;
  run.shownAt = Date.now();
  show("pq");
}

$("answer-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const run = ui.run;
  const q = currentQuestion();
  if (!run || run.answered) return;
  const picked = [...$("pq-choices").querySelectorAll("input:checked")].map((i) => Number(i.value));
  if (picked.length === 0) {
    $("pq-error").textContent = q.multiple_correct ? "Choose at least one answer." : "Choose an answer.";
    return;
  }
  $("pq-error").textContent = "";
  $("submit-answer").disabled = true;
  try {
    const timeMs = Math.min(Date.now() - run.shownAt, MAX_TIME_MS);
    const r = await api.answer(q.id, picked, { attemptId: run.attemptId, timeMs });
    run.answered = true;
    run.results.push({ text: q.text, outcome: r.correct ? "right" : "wrong" });
    renderResult(r, picked);
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      // A live game plays this question (or it was answered in this attempt already): the
      // server will not take the answer; say why and let the player go on.
      run.answered = true;
      run.results.push({ text: q.text, outcome: "skipped", reason: e.detail });
      $("pq-error").textContent = `This answer was refused: ${e.detail || e.title}`;
      $("pq-fieldset").disabled = true;
      $("submit-answer").hidden = true;
      showNext("Skip to the next question");
    } else {
      $("submit-answer").disabled = false;
      failed(e, "pq-error");
    }
  }
});

/** Marks the correct choices and the player's wrong ones, and shows the verdict and why. */
function renderResult(r, picked) {
  const correct = new Set(r.correct_choice_ids);
  const mine = new Set(picked);
  for (const label of $("pq-choices").children) {
    const id = Number(label.querySelector("input").value);
    const mark = label.querySelector(".pmark");
    if (correct.has(id)) {
      label.classList.add("is-correct");
      mark.textContent = mine.has(id) ? "✓ correct, your answer" : "✓ correct";
    } else if (mine.has(id)) {
      label.classList.add("is-wrong");
      mark.textContent = "✗ your answer";
    }
  }
  $("pq-fieldset").disabled = true;
  $("submit-answer").hidden = true;
  const verdict = $("pq-verdict");
  verdict.classList.toggle("right", r.correct);
  verdict.classList.toggle("wrong", !r.correct);
  $("pq-verdict-text").textContent = r.correct ? "Correct!" : "Not quite.";
  $("pq-explanation").textContent = r.explanation || "This question has no explanation.";
  $("pq-result").hidden = false;
  showNext("Next question");
}

/** Shows the button to the next question (or to the summary after the last one). */
function showNext(label) {
  const run = ui.run;
  const last = run.index + 1 >= run.quiz.questions.length;
  const next = $("next-button");
  next.textContent = last ? "See the summary" : label;
  next.hidden = false;
  next.focus();
}

$("next-button").addEventListener("click", () => {
  const run = ui.run;
  if (!run || !run.answered) return;
  run.index += 1;
  if (run.index < run.quiz.questions.length) renderQuestion();
  else renderSummary();
});

function renderSummary() {
  const run = ui.run;
  const total = run.quiz.questions.length;
  const right = run.results.filter((r) => r.outcome === "right").length;
  const skipped = run.results.filter((r) => r.outcome === "skipped").length;
  $("summary-score").textContent =
    `${right} of ${total} right` + (skipped ? ` (${skipped} not taken by the server)` : "");
  $("summary-error").textContent = "";
  const ol = $("summary-list");
  clear(ol);
  for (const r of run.results) {
    const li = document.createElement("li");
    li.className = r.outcome;
    const mark = document.createElement("span");
    mark.className = "outcome";
    mark.textContent = { right: "✓ right", wrong: "✗ wrong", skipped: "– refused" }[r.outcome];
    const text = document.createElement("span");
    text.textContent = r.text;
    li.append(mark, text);
    ol.appendChild(li);
  }
  show("summary");
}

$("again-button").addEventListener("click", async () => {
  const quizId = ui.run?.quiz.id ?? ui.lastQuiz;
  if (!quizId) return;
  $("again-button").disabled = true;
  try {
    await startRun(quizId);
  } catch (e) {
    failed(e, "summary-error");
  } finally {
    $("again-button").disabled = false;
  }
});

// ---- start-up ----------------------------------------------------------------------------

async function boot() {
  if (!api.token) {
    showLogin();
    return;
  }
  try {
    await signedIn();
  } catch (e) {
    api.token = null;
    saveToken(null);
    showLogin(e instanceof ApiError && e.status === 401 ? "Your session has ended: log in again." : errorMessage(e));
  }
}

boot();
