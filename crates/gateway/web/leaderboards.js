// The leaderboards page: the global boards (rating, points this week and today, per topic),
// any past period of a windowed board, the caller's rank, percentile and neighbours, and the
// top of the current period kept live by the board's watch stream (server-sent events read
// with fetch, so the bearer token goes in the Authorization header, never in the URL).
//
// REST calls go through QuizApi (quiz-client.js); the token is shared with the other pages of
// the tab through page.js. No inline script or style; server text goes in with textContent.
import { ApiError, QuizApi } from "/static/quiz-client.js";
import { $, clear, errorMessage, loadToken, saveToken, show, wireLogin } from "/static/page.js";

/** How many periods back the period picker offers. */
const PERIODS = 12;
/** Rows per page and rows above/below the caller. */
const PAGE = 20;
const AROUND = 3;

const api = new QuizApi({ token: loadToken() });
const ui = { me: null, boards: [], board: null, period: 0, cursor: null, watch: null };

const fmtTime = (ms) => new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
const fmtDay = (ms) => new Date(ms).toLocaleDateString([], { dateStyle: "medium", timeZone: "UTC" });

/** One list item: rank, name, score; the caller's row is marked. */
function row(e) {
  const li = document.createElement("li");
  if (ui.me && e.user_id === ui.me.id) {
    li.className = "mine";
    li.setAttribute("aria-current", "true");
  }
  for (const [cls, text] of [["rank", `#${e.rank}`], ["name", e.username], ["score", String(e.score)]]) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    li.append(s);
  }
  return li;
}

function fill(list, items, append = false) {
  if (!append) clear(list);
  for (const e of items) list.append(row(e));
}

function failed(e) {
  if (e instanceof ApiError && e.status === 401) {
    api.token = null;
    saveToken(null);
    ui.me = null;
    stopWatch();
    show("login");
    return;
  }
  $("board-error").textContent = errorMessage(e);
}

const boardPath = (id) => `/v1/leaderboards/${encodeURIComponent(id)}`;

/** Loads the list of boards and the caller's rating, then the selected board. */
async function openBoards() {
  ui.me = await api.me();
  show("boards");
  const [list, rating] = await Promise.all([
    api.request("GET", "/v1/leaderboards"),
    api.request("GET", "/v1/ratings/me"),
  ]);
  $("my-rating").textContent =
    `Your rating: ${rating.display} after ${rating.games} rated game${rating.games === 1 ? "" : "s"}.`;
  ui.boards = list.items;
  const select = $("board");
  clear(select);
  for (const b of ui.boards) {
    const o = document.createElement("option");
    o.value = b.id;
    o.textContent = b.title;
    select.append(o);
  }
  const wanted = new URLSearchParams(location.search).get("board");
  ui.board = ui.boards.find((b) => b.id === wanted) ?? ui.boards[0];
  select.value = ui.board.id;
  periods();
  await load();
}

/** The period picker for the selected board (only "all time" for boards without a reset). */
function periods() {
  const select = $("period");
  clear(select);
  const b = ui.board;
  const n = b.reset ? PERIODS : 1;
  const len = b.reset ? b.period.end_ms - b.period.start_ms : 0;
  for (let i = 0; i < n; i++) {
    const o = document.createElement("option");
    o.value = String(i);
    if (!b.reset) o.textContent = "All time";
    else if (i === 0) o.textContent = b.reset === "weekly" ? "This week" : "Today";
    else if (i === 1) o.textContent = b.reset === "weekly" ? "Last week" : "Yesterday";
    else o.textContent = (b.reset === "weekly" ? "Week of " : "") + fmtDay(b.period.start_ms - i * len);
    select.append(o);
  }
  ui.period = 0;
  select.value = "0";
  select.disabled = n === 1;
}

/** Reads the selected board and period: the caller's line, neighbours and the first page. */
async function load() {
  $("board-error").textContent = "";
  const b = ui.board;
  const q = { period: ui.period };
  const [page, me, around] = await Promise.all([
    api.request("GET", boardPath(b.id), { query: { ...q, limit: PAGE } }),
    api.request("GET", `${boardPath(b.id)}/me`, { query: q }),
    api.request("GET", `${boardPath(b.id)}/around`, { query: { ...q, above: AROUND, below: AROUND } }),
  ]);
  $("reset").textContent = describe(page);
  $("me-line").textContent = me.entry
    ? `#${me.entry.rank} of ${me.total} with ${me.entry.score}: better than or equal to ${me.percentile.toFixed(1)}% of players.`
    : "You are not on this board for this period yet.";
  fill($("around"), around.items);
  fill($("top"), page.items);
  ui.cursor = page.next_cursor;
  $("more").hidden = !ui.cursor;
  if (ui.period === 0) startWatch();
  else stopWatch();
}

async function more() {
  const page = await api.request("GET", boardPath(ui.board.id), {
    query: { period: ui.period, limit: PAGE, cursor: ui.cursor },
  });
  fill($("top"), page.items, true);
  ui.cursor = page.next_cursor;
  $("more").hidden = !ui.cursor;
}

function stopWatch() {
  ui.watch?.abort();
  ui.watch = null;
  $("live").textContent = "";
  $("live").className = "live";
}

/**
 * Follows the board's watch stream: each `top` event replaces the first rows (while only the
 * first page is shown). Reconnects after a pause when the stream ends or fails.
 */
function startWatch() {
  stopWatch();
  const ctrl = new AbortController();
  ui.watch = ctrl;
  const id = ui.board.id;
  (async () => {
    while (!ctrl.signal.aborted) {
      try {
        const res = await fetch(`${boardPath(id)}/watch?limit=${PAGE}`, {
          headers: { Authorization: `Bearer ${api.token}`, Accept: "text/event-stream" },
          signal: ctrl.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        $("live").textContent = "Live";
        $("live").className = "live on";
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
            if (/^event: ?top$/m.test(block) && data) onTop(JSON.parse(data));
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      $("live").textContent = "Reconnecting…";
      $("live").className = "live";
      await new Promise((r) => setTimeout(r, 3000));
    }
  })();
}

function onTop(page) {
  if (ui.period !== 0 || page.board !== ui.board.id) return;
  const list = $("top");
  // Replace the first rows only; rows loaded with "Show more" stay until the next load.
  const extra = [...list.children].slice(page.items.length);
  fill(list, page.items);
  if (list.children.length + extra.length > PAGE) for (const li of extra) list.append(li);
  $("reset").textContent = describe(page);
}

/** The line under the pickers: when the board resets (or which past period this is), and size. */
function describe(page) {
  const players = `${page.total} player${page.total === 1 ? "" : "s"}.`;
  if (!page.next_reset_ms) return `All time. ${players}`;
  if (page.period.ago > 0) {
    return `${fmtDay(page.period.start_ms)} to ${fmtDay(page.period.end_ms - 1)} (closed). ${players}`;
  }
  return `Resets ${fmtTime(page.next_reset_ms)}. ${players}`;
}

$("board").addEventListener("change", () => {
  ui.board = ui.boards.find((b) => b.id === $("board").value) ?? ui.boards[0];
  periods();
  load().catch(failed);
});
$("period").addEventListener("change", () => {
  ui.period = Number($("period").value);
  load().catch(failed);
});
$("more").addEventListener("click", () => more().catch(failed));

wireLogin(api, "login-form", () => openBoards().catch(failed));

if (api.token) openBoards().catch(failed);
else show("login");
