// The quick-match page: a logged-in player picks a topic (or any) and a size (a duel, or a room
// of up to 8), queues over the matchmaking WebSocket (`/v1/match/ws`), sees the estimated wait
// and the rating gap accepted right now, may leave the queue or take a ghost duel when one is
// offered, and on `matched` goes to the player page, which joins the match's live session with
// the same login token (`/?code=<code>&match=1`).
//
// The login token goes in the socket's first frame, never in a URL (URLs end up in logs and
// history). REST calls go through QuizApi (quiz-client.js); the token is shared with the other
// pages of the tab through page.js. No inline script or style; server text goes in with
// textContent.
import { ApiError, QuizApi } from "/static/quiz-client.js";
import { $, clear, errorMessage, loadToken, saveToken, show, wireLogin } from "/static/page.js";

/** Sizes the queue accepts: 2 is a duel, more a room. */
const MIN_SIZE = 2;
const MAX_SIZE = 8;
/** Longest topic the form sends (the bank's topics are shorter). */
const MAX_TOPIC = 100;

const api = new QuizApi({ token: loadToken() });
const ui = {
  socket: null, // the open queue socket
  queued: false, // a `queued` frame came: the first frame was accepted
  done: false, // a final frame came (matched, left, timeout, a refusal): a close is expected
  ghostTimer: null,
};

/** Milliseconds as "5 s" or "2 min 5 s". */
function secs(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function loggedOut() {
  api.token = null;
  saveToken(null);
  show("login");
}

/** The caller's rating and the topics of the topic boards, then the queue form. */
async function openPick() {
  await api.me();
  show("pick");
  $("queue-button").disabled = false;
  const [rating, boards] = await Promise.all([
    api.request("GET", "/v1/ratings/me"),
    api.request("GET", "/v1/leaderboards"),
  ]);
  $("my-rating").textContent =
    `Your rating: ${rating.display} after ${rating.games} rated game${rating.games === 1 ? "" : "s"}.`;
  const list = $("topics");
  clear(list);
  for (const b of boards.items) {
    if (!b.id.startsWith("topic:")) continue;
    const o = document.createElement("option");
    o.value = b.id.slice("topic:".length);
    list.append(o);
  }
}

function failed(e) {
  if (e instanceof ApiError && e.status === 401) return loggedOut();
  $("queue-error").textContent = errorMessage(e);
}

wireLogin(api, "login-form", openPick);

// ---- the queue ----------------------------------------------------------------------------

/** `ws(s)://<this origin>/v1/match/ws`. */
function queueUrl() {
  const u = new URL("/v1/match/ws", location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

function send(frame) {
  if (ui.socket && ui.socket.readyState === WebSocket.OPEN) ui.socket.send(JSON.stringify(frame));
}

$("queue-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const topic = $("topic").value.trim();
  const size = Number($("size").value);
  if (topic.length > MAX_TOPIC) {
    $("queue-error").textContent = `A topic has at most ${MAX_TOPIC} characters.`;
    return;
  }
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    $("queue-error").textContent = `Choose 2 to ${MAX_SIZE} players.`;
    return;
  }
  if (!api.token) return loggedOut();
  queue(topic || null, size);
});

function queue(topic, size) {
  $("queue-error").textContent = "";
  $("queue-button").disabled = true;
  ui.queued = false;
  ui.done = false;
  $("wait-what").textContent =
    `${size === 2 ? "A duel" : `A room of up to ${size} players`} on ${topic ? `“${topic}”` : "any topic"}.`;
  for (const id of ["wait-estimate", "wait-gap", "wait-rating"]) $(id).textContent = "–";
  $("wait-elapsed").textContent = "0 s";
  $("wait-status").textContent = "Connecting…";
  $("leave-button").disabled = false;
  show("waiting");
  let ws;
  try {
    ws = new WebSocket(queueUrl());
  } catch (e) {
    backToPick(errorMessage(e));
    return;
  }
  ui.socket = ws;
  ws.addEventListener("open", () => {
    ws.send(JSON.stringify({ type: "queue", token: api.token, topic, size }));
  });
  ws.addEventListener("message", (ev) => {
    if (ui.socket !== ws) return;
    let f;
    try {
      f = JSON.parse(ev.data);
    } catch {
      return; // not a frame of the protocol: ignored
    }
    if (f && typeof f === "object") onFrame(f);
  });
  ws.addEventListener("close", (ev) => {
    if (ui.socket !== ws) return;
    ui.socket = null;
    stopGhostTimer();
    if (!ui.done) {
      ended("Disconnected", `The connection to the queue closed (${ev.code || "no code"}); you are out of the queue.`);
    }
  });
}

function onFrame(f) {
  switch (f.type) {
    case "queued":
      ui.queued = true;
      $("wait-status").textContent = "";
      $("wait-estimate").textContent = `about ${secs(f.estimated_wait_ms)}`;
      $("wait-elapsed").textContent = secs(f.waited_ms);
      $("wait-gap").textContent =
        f.rating_gap === null || f.rating_gap === undefined ? "anyone" : `± ${Math.round(f.rating_gap)}`;
      $("wait-rating").textContent = String(Math.round(f.rating));
      break;
    case "matched":
      ui.done = true;
      matched(f);
      break;
    case "ghost_offer":
      ghostOffer(f);
      break;
    case "left":
      ui.done = true;
      ended("You left the queue", "Queue again whenever you like.");
      break;
    case "timeout":
      ui.done = true;
      ended(
        "No match this time",
        `Nobody compatible was queueing within ${secs(f.waited_ms)}. Queue again, perhaps for any topic.`,
      );
      break;
    case "error":
      if (!ui.queued || f.code === "unauthorized") {
        // The first frame was refused; the server closes the socket.
        ui.done = true;
        closeSocket();
        if (f.code === "unauthorized") return loggedOut();
        backToPick(f.message || f.code);
      } else {
        // Later errors change nothing: still queued.
        $("wait-status").textContent = f.message || f.code;
      }
      break;
    default:
      break; // a frame type this page does not know yet
  }
}

function matched(f) {
  stopGhostTimer();
  const others = Array.isArray(f.players) ? f.players.length - 1 : 1;
  $("matched-text").textContent =
    `Game ${f.code}: you and ${others} other player${others === 1 ? "" : "s"}${f.topic ? ` on “${f.topic}”` : ""}.`;
  const url = `/?code=${encodeURIComponent(f.code)}&match=1`;
  $("matched-link").href = url;
  show("matched");
  location.assign(url);
}

function ghostOffer(f) {
  $("ghost-text").textContent =
    `Nobody of your level is queueing. ${f.nickname} (rating ${Math.round(f.rating)}) played a duel ` +
    `of this kind: play against their recorded answers, or leave the queue.`;
  $("ghost-accept").disabled = false;
  $("ghost-decline").disabled = false;
  show("ghost");
  const until = Date.now() + (Number(f.expires_ms) || 0);
  stopGhostTimer();
  const tick = () => {
    $("ghost-expires").textContent = `The offer stands for ${secs(until - Date.now())}.`;
    if (Date.now() >= until) stopGhostTimer();
  };
  tick();
  ui.ghostTimer = setInterval(tick, 1000);
}

function stopGhostTimer() {
  if (ui.ghostTimer !== null) clearInterval(ui.ghostTimer);
  ui.ghostTimer = null;
}

$("ghost-accept").addEventListener("click", () => {
  $("ghost-accept").disabled = true;
  $("ghost-decline").disabled = true;
  send({ type: "accept_ghost" });
});

$("ghost-decline").addEventListener("click", () => {
  $("ghost-accept").disabled = true;
  $("ghost-decline").disabled = true;
  send({ type: "leave" });
});

$("leave-button").addEventListener("click", () => {
  $("leave-button").disabled = true;
  $("wait-status").textContent = "Leaving…";
  if (ui.socket && ui.socket.readyState === WebSocket.OPEN) send({ type: "leave" });
  else {
    ui.done = true;
    closeSocket();
    ended("You left the queue", "Queue again whenever you like.");
  }
});

function closeSocket() {
  const ws = ui.socket;
  ui.socket = null;
  stopGhostTimer();
  if (ws) ws.close(1000);
}

function ended(title, text) {
  closeSocket();
  $("over-title").textContent = title;
  $("over-text").textContent = text;
  show("over");
}

function backToPick(message) {
  show("pick");
  $("queue-button").disabled = false;
  $("queue-error").textContent = message;
}

$("again-button").addEventListener("click", () => {
  show("pick");
  $("queue-button").disabled = false;
  openPick().catch(failed);
});

// ---- start --------------------------------------------------------------------------------

if (api.token) openPick().catch(failed);
else show("login");
