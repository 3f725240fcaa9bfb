// The author page: the question bank (list with filters and paging, typo-tolerant search),
// the question editor (field errors of a 422 shown beside their fields), the quiz builder and
// bulk import/export, all through QuizApi in quiz-client.js. No inline script or style (the
// gateway's CSP forbids both); the DOM is built with textContent only, so nothing a server or
// another author sent is ever parsed as HTML.
import { ApiError, QuizApi } from "/static/quiz-client.js";
import { $, clear, errorMessage, loadToken, logout, saveToken, show, wireLogin } from "/static/page.js";

/** Questions per page of the bank list. */
const PAGE = 20;
/** Choices per question (the server's limits). */
const MIN_CHOICES = 2;
const MAX_CHOICES = 6;
/** Default time limit of a question added to a quiz, in seconds. */
const DEFAULT_SECONDS = 20;

const api = new QuizApi({ token: loadToken() });
const ui = {
  me: null, // {id, username, role}
  bank: { offset: 0, total: 0, query: "" }, // query: the search text, "" = the list
  editing: null, // the question being edited, or null for a new one
  quiz: { id: null, items: [] }, // items: [{question: {id, text, topic}, seconds}]
  exportUrl: null,
};

// ---- helpers ----------------------------------------------------------------------------

/** An element with a class and text. */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A `type="button"` button. */
function button(text, onClick, className) {
  const b = el("button", className, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

/** Whether the signed-in user may change this question or quiz. */
function mayEdit(item) {
  return ui.me && (ui.me.role === "admin" || item.author_id === ui.me.id);
}

/**
 * The message for an error of an action; a 401 (token expired or revoked) goes back to the
 * login form instead.
 */
function describe(e) {
  if (e instanceof ApiError && e.status === 401) {
    api.token = null;
    saveToken(null);
    enterLogin("Your session has ended: log in again.");
    return "";
  }
  if (e instanceof ApiError && e.status === 403) {
    return `Your account may not do this: ${errorMessage(e)}`;
  }
  return errorMessage(e);
}

/** Shows a short note at the top of the page (announced politely). */
function notice(text) {
  $("notice").textContent = text;
}

/**
 * Shows `messages` beside the fields `inputs` in `errorEl`: the inputs get `aria-invalid` and
 * are described by the message (besides their own hint, kept in `data-describedby`).
 */
function markField(inputs, errorEl, messages) {
  errorEl.textContent = messages.join(" ");
  for (const input of inputs) {
    const base = (input.dataset.describedby || "").split(" ").filter(Boolean);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [...base, errorEl.id].join(" "));
  }
}

/** Undoes `markField` for one input. */
function unmarkField(input) {
  const base = (input.dataset.describedby || "").split(" ").filter(Boolean);
  input.removeAttribute("aria-invalid");
  if (base.length) input.setAttribute("aria-describedby", base.join(" "));
  else input.removeAttribute("aria-describedby");
}

/**
 * Puts the errors of `e` beside their fields: `target(field)` gives `{inputs, error, prefix}`
 * for a field this form shows, or null; the rest (and any non-422 error) goes to the summary.
 * Focus moves to the first invalid field, else to the summary.
 */
function showErrors(e, form, summaryId, target) {
  const byError = new Map(); // error element -> {inputs, messages}
  const unknown = [];
  const fieldErrors = e instanceof ApiError && e.status === 422 ? e.errors : [];
  for (const { field, message } of fieldErrors) {
    const t = target(field);
    if (!t) {
      unknown.push(`${field}: ${message}`);
      continue;
    }
    const entry = byError.get(t.error) || { inputs: t.inputs, messages: [] };
    entry.messages.push((t.prefix || "") + message);
    byError.set(t.error, entry);
  }
  for (const [errorEl, { inputs, messages }] of byError) markField(inputs, errorEl, messages);
  const summary = $(summaryId);
  const list = $(`${summaryId}-list`);
  clear(list);
  if (fieldErrors.length) {
    const n = fieldErrors.length;
    $(`${summaryId}-text`).textContent =
      `Not saved: ${n} problem${n === 1 ? "" : "s"}` +
      (byError.size ? ", marked beside the fields." : ".");
    for (const u of unknown) list.appendChild(el("li", "", u));
  } else {
    const text = describe(e);
    if (!text) return;
    $(`${summaryId}-text`).textContent = `Not saved: ${text}`;
  }
  summary.hidden = false;
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
  else {
    summary.tabIndex = -1;
    summary.focus();
  }
}

/** Clears every field error and the summary of a form. */
function clearErrors(form, summaryId) {
  for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) unmarkField(input);
  $(summaryId).hidden = true;
  clear($(`${summaryId}-list`));
}

/** Asks for a confirmation in a modal dialog; resolves to true for the confirming button. */
function confirmAction(text, yesLabel) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yesLabel;
  return new Promise((resolve) => {
    const done = (answer) => {
      $("confirm-yes").removeEventListener("click", yes);
      $("confirm-no").removeEventListener("click", no);
      dialog.removeEventListener("close", closed);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    const closed = () => done(false); // Escape
    $("confirm-yes").addEventListener("click", yes);
    $("confirm-no").addEventListener("click", no);
    dialog.addEventListener("close", closed);
    dialog.showModal();
    $("confirm-no").focus();
  });
}

/** The one-line description of a question in lists. */
function questionMeta(q) {
  const parts = [q.topic, `difficulty ${q.difficulty}`];
  if (q.tags?.length) parts.push(`tags: ${q.tags.join(", ")}`);
  const correct = q.choices.filter((c) => c.correct).length;
  const n = q.choices.length;
  parts.push(`${n} choice${n === 1 ? "" : "s"}` + (q.choices.some((c) => c.correct !== undefined) ? ` (${correct} correct)` : ""));
  if (ui.me && q.author_id !== ui.me.id) parts.push(`by user ${q.author_id}`);
  return parts.join(" · ");
}

// ---- login and navigation ---------------------------------------------------------------

wireLogin(api, "login-form", enter);

/** Shows the login form (with an optional note). */
function enterLogin(note = "") {
  ui.me = null;
  $("tools").hidden = true;
  $("login-error").textContent = note;
  show("login");
  $("username").focus();
}

/** After a login (or a reload with a stored token): authors and admins get the bank. */
async function enter() {
  const me = await api.me();
  ui.me = me;
  if (me.role !== "author" && me.role !== "admin") {
    $("denied-text").textContent =
      `You are logged in as ${me.username}, a ${me.role}: writing questions and quizzes needs the author or admin role.`;
    $("tools").hidden = true;
    show("denied");
    return;
  }
  $("who").textContent = `${me.username} (${me.role})`;
  $("tools").hidden = false;
  notice("");
  await openScreen("bank");
}

/** Switches between the bank, the quizzes and import/export (the tool bar's buttons). */
async function openScreen(id) {
  for (const b of document.querySelectorAll("#tools [data-screen]")) {
    if (b.dataset.screen === id) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  show(id);
  if (id === "bank") await loadBank();
  else if (id === "quizzes") await Promise.all([loadQuizList(), find()]);
}

for (const b of document.querySelectorAll("#tools [data-screen]")) {
  b.addEventListener("click", () => {
    notice("");
    openScreen(b.dataset.screen);
  });
}

async function logOut() {
  await logout(api);
  enterLogin();
}
$("logout").addEventListener("click", logOut);
$("denied-logout").addEventListener("click", logOut);

// ---- the question bank ------------------------------------------------------------------

$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  notice("");
  ui.bank.query = $("search").value.trim();
  ui.bank.offset = 0;
  loadBank();
});

$("search-clear").addEventListener("click", () => {
  $("search").value = "";
  ui.bank.query = "";
  ui.bank.offset = 0;
  loadBank();
  $("search").focus();
});

$("filter-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  ui.bank.offset = 0;
  loadBank();
});

$("prev-page").addEventListener("click", () => {
  ui.bank.offset = Math.max(0, ui.bank.offset - PAGE);
  loadBank();
});
$("next-page").addEventListener("click", () => {
  ui.bank.offset += PAGE;
  loadBank();
});

/** Loads the current page of the bank: the filtered list, or search results. */
async function loadBank() {
  const topic = $("f-topic").value.trim();
  const tag = $("f-tag").value.trim();
  const query = ui.bank.query;
  $("search-clear").hidden = !query;
  $("bank-error").textContent = "";
  try {
    let items;
    let total;
    if (query) {
      const res = await api.searchQuestions({ q: query, topic, tags: tag, limit: PAGE, offset: ui.bank.offset });
      items = res.items.map((h) => h.question);
      total = res.total;
      $("bank-source").textContent =
        `Search results for “${query}”: ${total} match${total === 1 ? "" : "es"}, best first.`;
    } else {
      const page = await api.listQuestions({
        topic,
        tag,
        difficulty: $("f-difficulty").value,
        author_id: $("f-mine").checked ? ui.me.id : undefined,
        limit: PAGE,
        offset: ui.bank.offset,
      });
      items = page.items;
      total = page.total;
      const whose = $("f-mine").checked ? "Your questions" : "All questions";
      const filtered = topic || tag || $("f-difficulty").value ? " (filtered)" : "";
      $("bank-source").textContent = `${whose}${filtered}, newest first: ${total}.`;
    }
    ui.bank.total = total;
    renderBank(items);
  } catch (e) {
    $("bank-error").textContent = describe(e);
  }
}

function renderBank(items) {
  const ol = $("bank-list");
  clear(ol);
  ol.dataset.source = ui.bank.query ? "search" : "list";
  if (!items.length) {
    ol.appendChild(el("li", "empty", ui.bank.query ? "Nothing matches." : "No questions here yet."));
  }
  for (const q of items) {
    const li = el("li", "qitem");
    li.dataset.id = String(q.id);
    li.append(el("p", "qitem-text", q.text), el("p", "qitem-meta", questionMeta(q)));
    if (mayEdit(q)) {
      const actions = el("div", "qitem-actions");
      const edit = button("Edit", () => openEditor(q.id));
      edit.setAttribute("aria-label", `Edit “${q.text}”`);
      const del = button("Delete", () => removeQuestion(q, $("bank-error")), "danger");
      del.setAttribute("aria-label", `Delete “${q.text}”`);
      actions.append(edit, del);
      li.appendChild(actions);
    }
    ol.appendChild(li);
  }
  const { offset, total } = ui.bank;
  const last = Math.min(total, offset + items.length);
  $("page-info").textContent = total ? `${offset + 1}–${last} of ${total}` : "";
  $("prev-page").disabled = offset === 0;
  $("next-page").disabled = offset + PAGE >= total;
}

/** Deletes a question after a confirmation (409 while a quiz uses it). */
async function removeQuestion(q, errorEl) {
  const ok = await confirmAction(`Delete the question “${q.text}”? This cannot be undone.`, "Delete");
  if (!ok) return false;
  try {
    await api.deleteQuestion(q.id);
    notice(`Deleted question ${q.id}.`);
    errorEl.textContent = "";
    if (ui.bank.offset >= ui.bank.total - 1) ui.bank.offset = Math.max(0, ui.bank.offset - PAGE);
    await openScreen("bank");
    return true;
  } catch (e) {
    errorEl.textContent = describe(e);
    return false;
  }
}

// ---- the question editor ----------------------------------------------------------------

$("new-question").addEventListener("click", () => openEditor(null));
$("cancel-edit").addEventListener("click", () => openScreen("bank"));
$("add-choice").addEventListener("click", () => {
  addChoiceRow({ text: "", correct: false });
  const rows = $("choice-list").children;
  rows[rows.length - 1].querySelector("input[type=text]").focus();
});

/** Opens the editor for question `id` (loaded with its key), or empty for a new one. */
async function openEditor(id) {
  const form = $("question-form");
  notice("");
  clearErrors(form, "q-summary");
  clear($("choice-list"));
  let q = null;
  if (id !== null) {
    try {
      q = await api.getQuestion(id);
    } catch (e) {
      $("bank-error").textContent = describe(e);
      return;
    }
  }
  ui.editing = q;
  $("editor-title").textContent = q ? `Edit question ${q.id}` : "New question";
  $("q-text").value = q?.text ?? "";
  $("q-topic").value = q?.topic ?? ($("f-topic").value.trim() || "");
  $("q-tags").value = q?.tags?.join(", ") ?? "";
  $("q-difficulty").value = String(q?.difficulty ?? 3);
  $("q-explanation").value = q?.explanation ?? "";
  const choices = q?.choices?.length ? q.choices : [{ text: "", correct: false }, { text: "", correct: false }];
  for (const c of choices) addChoiceRow(c);
  $("delete-question").hidden = !q;
  show("editor");
}

/** Appends a choice row (text, correct checkbox, remove button). */
function addChoiceRow(choice) {
  const ol = $("choice-list");
  if (ol.children.length >= MAX_CHOICES) return;
  const li = el("li", "choice-row");
  if (choice.id !== undefined) li.dataset.choiceId = String(choice.id);
  const text = document.createElement("input");
  text.type = "text";
  text.className = "choice-text";
  text.maxLength = 500;
  text.autocomplete = "off";
  text.value = choice.text;
  const correctLabel = el("label", "choice-correct");
  const correct = document.createElement("input");
  correct.type = "checkbox";
  correct.className = "choice-check";
  correct.checked = Boolean(choice.correct);
  correct.dataset.describedby = "q-choices-hint";
  correct.setAttribute("aria-describedby", "q-choices-hint");
  correctLabel.append(correct, el("span", "", "Correct"));
  const remove = button("Remove", () => {
    li.remove();
    renumberChoices();
    const rows = $("choice-list").children;
    rows[Math.min(rows.length - 1, Number(li.dataset.index))]?.querySelector(".choice-text").focus();
  });
  remove.className = "remove";
  const error = el("p", "field-error");
  li.append(el("label", "choice-label"), text, correctLabel, remove, error);
  ol.appendChild(li);
  renumberChoices();
}

/** Gives every choice row its number, ids and labels (after adding or removing one). */
function renumberChoices() {
  const rows = [...$("choice-list").children];
  rows.forEach((li, i) => {
    li.dataset.index = String(i);
    const text = li.querySelector(".choice-text");
    text.id = `choice-${i}-text`;
    const label = li.querySelector(".choice-label");
    label.htmlFor = text.id;
    label.textContent = `Choice ${i + 1}`;
    li.querySelector(".choice-check").id = `choice-${i}-correct`;
    li.querySelector(".choice-check").setAttribute("aria-label", `Choice ${i + 1} is correct`);
    li.querySelector(".field-error").id = `choice-${i}-error`;
    const remove = li.querySelector(".remove");
    remove.setAttribute("aria-label", `Remove choice ${i + 1}`);
    remove.disabled = rows.length <= MIN_CHOICES;
  });
  $("add-choice").disabled = rows.length >= MAX_CHOICES;
}

/** The form's question as the API's QuestionInput. */
function questionInput() {
  const choices = [...$("choice-list").children].map((li) => {
    const c = { text: li.querySelector(".choice-text").value, correct: li.querySelector(".choice-check").checked };
    if (li.dataset.choiceId) c.id = Number(li.dataset.choiceId);
    return c;
  });
  return {
    text: $("q-text").value,
    topic: $("q-topic").value,
    tags: $("q-tags").value.split(",").map((t) => t.trim()).filter(Boolean),
    difficulty: Number($("q-difficulty").value),
    explanation: $("q-explanation").value,
    choices,
  };
}

/** Where an error field of a question shows: the server names `text`, `choices[1].text`, ... */
function questionTarget(field) {
  const simple = { text: "q-text", topic: "q-topic", difficulty: "q-difficulty", explanation: "q-explanation" };
  if (simple[field]) return { inputs: [$(simple[field])], error: $(`${simple[field]}-error`) };
  const tag = /^tags(?:\[(\d+)\])?$/.exec(field);
  if (tag) {
    const prefix = tag[1] === undefined ? "" : `tag ${Number(tag[1]) + 1}: `;
    return { inputs: [$("q-tags")], error: $("q-tags-error"), prefix };
  }
  if (field === "choices") {
    return { inputs: [...document.querySelectorAll("#choice-list .choice-check")], error: $("q-choices-error") };
  }
  const choice = /^choices\[(\d+)\]\.(\w+)$/.exec(field);
  const row = choice && $("choice-list").children[Number(choice[1])];
  if (row) {
    const input = choice[2] === "correct" ? row.querySelector(".choice-check") : row.querySelector(".choice-text");
    return { inputs: [input], error: row.querySelector(".field-error") };
  }
  return null;
}

$("question-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = $("question-form");
  clearErrors(form, "q-summary");
  const input = questionInput();
  $("save-question").disabled = true;
  try {
    const saved = ui.editing ? await api.updateQuestion(ui.editing.id, input) : await api.createQuestion(input);
    notice(`Saved question ${saved.id}: “${saved.text}”.`);
    ui.editing = null;
    await openScreen("bank");
  } catch (e) {
    showErrors(e, form, "q-summary", questionTarget);
  } finally {
    $("save-question").disabled = false;
  }
});

$("delete-question").addEventListener("click", async () => {
  if (!ui.editing) return;
  const summary = $("q-summary");
  const ok = await removeQuestion(ui.editing, $("q-summary-text"));
  if (!ok && $("q-summary-text").textContent) summary.hidden = false;
});

// ---- quizzes ----------------------------------------------------------------------------

/** Lists the signed-in user's quizzes, each with Open and Delete. */
async function loadQuizList() {
  const ul = $("quiz-list");
  try {
    const page = await api.listQuizzes({ author_id: ui.me.id, limit: 100 });
    clear(ul);
    const n = page.total;
    $("quiz-list-status").textContent = n ? `${n} quiz${n === 1 ? "" : "zes"}, newest first.` : "No quizzes yet.";
    for (const z of page.items) {
      const li = el("li", "quiz-row");
      li.dataset.id = String(z.id);
      const qs = `${z.question_count} question${z.question_count === 1 ? "" : "s"}`;
      li.appendChild(el("span", "quiz-name", `${z.title} (${qs})`));
      const open = button("Open", () => openQuiz(z.id));
      open.setAttribute("aria-label", `Open the quiz “${z.title}”`);
      const del = button("Delete", () => removeQuiz(z), "danger");
      del.setAttribute("aria-label", `Delete the quiz “${z.title}”`);
      li.append(open, del);
      ul.appendChild(li);
    }
  } catch (e) {
    $("quiz-list-status").textContent = describe(e);
  }
}

$("new-quiz").addEventListener("click", () => {
  resetQuiz(null);
  $("z-title").focus();
});

/** Empties the builder (or fills it with `quiz`). */
function resetQuiz(quiz) {
  clearErrors($("quiz-form"), "z-summary");
  ui.quiz = {
    id: quiz?.id ?? null,
    items: (quiz?.questions || []).map((it) => ({ question: it.question, seconds: it.time_limit_ms / 1000 })),
  };
  $("quiz-form-title").textContent = quiz ? `Edit quiz ${quiz.id}` : "New quiz";
  $("z-title").value = quiz?.title ?? "";
  $("z-description").value = quiz?.description ?? "";
  $("delete-quiz").hidden = !quiz;
  renderItems();
  renderFinderMarks();
}

async function openQuiz(id) {
  try {
    resetQuiz(await api.getQuiz(id));
    $("z-title").focus();
  } catch (e) {
    $("quiz-list-status").textContent = describe(e);
  }
}

async function removeQuiz(z) {
  const ok = await confirmAction(`Delete the quiz “${z.title}”? Its questions stay in the bank.`, "Delete");
  if (!ok) return;
  try {
    await api.deleteQuiz(z.id);
    notice(`Deleted quiz ${z.id}.`);
    if (ui.quiz.id === z.id) resetQuiz(null);
    await loadQuizList();
  } catch (e) {
    $("quiz-list-status").textContent = describe(e);
  }
}

$("delete-quiz").addEventListener("click", () => {
  if (ui.quiz.id !== null) removeQuiz({ id: ui.quiz.id, title: $("z-title").value });
});

/** Draws the quiz's questions with their time limits and move/remove buttons. */
function renderItems(focus = null) {
  const ol = $("z-items");
  clear(ol);
  const n = ui.quiz.items.length;
  if (!n) ol.appendChild(el("li", "empty", "No questions yet."));
  ui.quiz.items.forEach((item, i) => {
    const li = el("li", "item");
    li.dataset.questionId = String(item.question.id);
    li.appendChild(el("p", "item-text", item.question.text));
    const controls = el("div", "item-controls");
    const label = el("label", "item-time-label", "Time (s)");
    const time = document.createElement("input");
    time.type = "number";
    time.className = "item-time";
    time.id = `z-item-${i}-time`;
    time.min = "1";
    time.max = "600";
    time.step = "1";
    time.inputMode = "numeric";
    time.value = String(item.seconds);
    time.dataset.describedby = "z-items-hint";
    time.setAttribute("aria-describedby", "z-items-hint");
    time.addEventListener("input", () => {
      item.seconds = time.value === "" ? NaN : Number(time.value);
    });
    label.htmlFor = time.id;
    const name = `“${item.question.text}”`;
    const up = button("↑", () => move(i, -1, "up"), "move up");
    up.setAttribute("aria-label", `Move ${name} up`);
    up.disabled = i === 0;
    const down = button("↓", () => move(i, 1, "down"), "move down");
    down.setAttribute("aria-label", `Move ${name} down`);
    down.disabled = i === n - 1;
    const remove = button("Remove", () => {
      ui.quiz.items.splice(i, 1);
      $("z-live").textContent = `Removed ${name}.`;
      renderItems();
      renderFinderMarks();
      const rest = $("z-items").querySelectorAll(".item-time");
      (rest[Math.min(i, rest.length - 1)] || $("z-title")).focus();
    }, "remove");
    remove.setAttribute("aria-label", `Remove ${name} from the quiz`);
    controls.append(label, time, up, down, remove);
    const error = el("p", "field-error");
    error.id = `z-item-${i}-error`;
    li.append(controls, error);
    ol.appendChild(li);
  });
  if (focus) {
    const li = ol.children[focus.index];
    const b = li?.querySelector(`.move.${focus.dir}`);
    const other = li?.querySelector(`.move.${focus.dir === "up" ? "down" : "up"}`);
    (b && !b.disabled ? b : other)?.focus();
  }
}

/** Moves item `i` by `delta`, announces the new place and keeps focus on the moved item. */
function move(i, delta, dir) {
  const j = i + delta;
  const items = ui.quiz.items;
  if (j < 0 || j >= items.length) return;
  [items[i], items[j]] = [items[j], items[i]];
  $("z-live").textContent = `“${items[j].question.text}” is now question ${j + 1} of ${items.length}.`;
  renderItems({ index: j, dir });
}

/** Adds a question (once) at the end of the quiz. */
function addToQuiz(q) {
  if (ui.quiz.items.some((it) => it.question.id === q.id)) return;
  ui.quiz.items.push({ question: q, seconds: DEFAULT_SECONDS });
  $("z-live").textContent = `Added “${q.text}” as question ${ui.quiz.items.length}.`;
  renderItems();
  renderFinderMarks();
}

/** The builder's quiz as the API's QuizInput. */
function quizInput() {
  return {
    title: $("z-title").value,
    description: $("z-description").value,
    questions: ui.quiz.items.map((it) => ({
      question_id: it.question.id,
      time_limit_ms: Number.isFinite(it.seconds) ? Math.round(it.seconds * 1000) : 0,
    })),
  };
}

/** Where an error field of a quiz shows (`title`, `questions[2].time_limit_ms`, ...). */
function quizTarget(field) {
  if (field === "title" || field === "description") return { inputs: [$(`z-${field}`)], error: $(`z-${field}-error`) };
  if (field === "questions") return { inputs: [], error: $("z-questions-error") };
  const m = /^questions\[(\d+)\]\.(\w+)$/.exec(field);
  const li = m && $("z-items").children[Number(m[1])];
  if (li && ui.quiz.items.length) {
    const time = li.querySelector(".item-time");
    return { inputs: m[2] === "time_limit_ms" ? [time] : [], error: li.querySelector(".field-error") };
  }
  return null;
}

$("quiz-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = $("quiz-form");
  clearErrors(form, "z-summary");
  $("save-quiz").disabled = true;
  try {
    const input = quizInput();
    const quiz = ui.quiz.id === null ? await api.createQuiz(input) : await api.replaceQuiz(ui.quiz.id, input);
    notice(`Saved quiz ${quiz.id}: “${quiz.title}” with ${quiz.questions.length} question${quiz.questions.length === 1 ? "" : "s"}.`);
    resetQuiz(quiz);
    await loadQuizList();
  } catch (e) {
    showErrors(e, form, "z-summary", quizTarget);
  } finally {
    $("save-quiz").disabled = false;
  }
});

// ---- finding questions for a quiz -------------------------------------------------------

$("finder-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  find();
});

/** Search results (or, with an empty box, the user's newest questions), each with Add. */
async function find() {
  const q = $("finder-q").value.trim();
  $("finder-error").textContent = "";
  try {
    let items;
    if (q) {
      const res = await api.searchQuestions({ q, limit: 20 });
      items = res.items.map((h) => h.question);
      $("finder-source").textContent =
        `Search results for “${q}”: ${res.total} match${res.total === 1 ? "" : "es"}, best first.`;
    } else {
      const page = await api.listQuestions({ author_id: ui.me.id, limit: 20 });
      items = page.items;
      $("finder-source").textContent = `Your newest questions (${page.total} in all).`;
    }
    const ol = $("finder-list");
    clear(ol);
    ol.dataset.source = q ? "search" : "list";
    if (!items.length) ol.appendChild(el("li", "empty", "Nothing found."));
    for (const question of items) {
      const li = el("li", "qitem");
      li.dataset.id = String(question.id);
      li.append(el("p", "qitem-text", question.text), el("p", "qitem-meta", questionMeta(question)));
      const add = button("Add", () => addToQuiz(question), "add");
      add.setAttribute("aria-label", `Add “${question.text}” to the quiz`);
      li.appendChild(add);
      ol.appendChild(li);
    }
    renderFinderMarks();
  } catch (e) {
    $("finder-error").textContent = describe(e);
  }
}

/** Disables Add for the questions already in the quiz. */
function renderFinderMarks() {
  const inQuiz = new Set(ui.quiz.items.map((it) => it.question.id));
  for (const li of $("finder-list").querySelectorAll("li[data-id]")) {
    const add = li.querySelector(".add");
    const added = inQuiz.has(Number(li.dataset.id));
    add.disabled = added;
    add.textContent = added ? "Added" : "Add";
  }
}

// ---- import and export ------------------------------------------------------------------

/** A readable place for an import error: `row 3` (CSV), `questions[2].text` (JSON). */
function importProblem({ field, message }) {
  const json = /^questions\[(\d+)\](?:\.(.+))?$/.exec(field);
  if (json) return `Question ${Number(json[1]) + 1}${json[2] ? ` (${json[2]})` : ""}: ${message}`;
  const row = /^row (\d+)$/.exec(field);
  if (row) return `Row ${row[1]}: ${message}`;
  if (field === "header") return `Header row: ${message}`;
  return `${field}: ${message}`;
}

$("import-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("import-file").files[0];
  const status = $("import-status");
  const box = $("import-errors");
  const list = $("import-error-list");
  box.hidden = true;
  clear(list);
  if (!file) {
    status.textContent = "Choose a .json or .csv file first.";
    $("import-file").focus();
    return;
  }
  const csv = /\.csv$/i.test(file.name) || file.type === "text/csv";
  $("import-button").disabled = true;
  status.textContent = `Importing ${file.name}…`;
  try {
    const res = await api.importQuestionsText(await file.text(), csv ? "csv" : "json");
    status.textContent = `Imported ${res.imported} question${res.imported === 1 ? "" : "s"} from ${file.name}.`;
    ui.bank.offset = 0;
  } catch (e) {
    status.textContent = "";
    const errors = e instanceof ApiError ? e.errors : [];
    if (errors.length) {
      const rows = new Set(errors.map((x) => x.field.replace(/\].*$/, "]")));
      $("import-errors-text").textContent =
        `Nothing was imported: ${errors.length} problem${errors.length === 1 ? "" : "s"} in ` +
        `${rows.size} place${rows.size === 1 ? "" : "s"} of ${file.name}. Fix them and import the file again.`;
      for (const x of errors) list.appendChild(el("li", "", importProblem(x)));
    } else {
      const text = describe(e);
      if (!text) return;
      $("import-errors-text").textContent = `Nothing was imported: ${text}`;
    }
    box.hidden = false;
  } finally {
    $("import-button").disabled = false;
  }
});

/** Fetches the export with the bearer token and offers it as a Blob URL link. */
async function exportAs(format) {
  const link = $("export-link");
  try {
    const text = await api.exportQuestionsText(format);
    const type = format === "csv" ? "text/csv;charset=utf-8" : "application/json";
    const blob = new Blob([text], { type });
    if (ui.exportUrl) URL.revokeObjectURL(ui.exportUrl);
    ui.exportUrl = URL.createObjectURL(blob);
    link.href = ui.exportUrl;
    link.download = `questions.${format}`;
    link.dataset.bytes = String(blob.size);
    link.dataset.format = format;
    link.textContent = `Save ${link.download}`;
    link.hidden = false;
    $("export-error").textContent = "";
    link.focus();
  } catch (e) {
    $("export-error").textContent = describe(e);
  }
}
$("export-json").addEventListener("click", () => exportAs("json"));
$("export-csv").addEventListener("click", () => exportAs("csv"));

// ---- start-up ---------------------------------------------------------------------------

async function boot() {
  if (!api.token) {
    enterLogin();
    return;
  }
  try {
    await enter();
  } catch {
    api.token = null;
    saveToken(null);
    enterLogin();
  }
}

boot();
