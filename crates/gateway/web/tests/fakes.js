// Test doubles for quiz-client.js: a scriptable WebSocket, manual timers and clock, a fake
// fetch and an in-memory storage. No network, no real timers: every test is deterministic.

/** A WebSocket the test drives: `server*` methods play the gateway's side. */
export class FakeSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    this.closedWith = null;
    FakeSocket.instances.push(this);
  }

  static reset() {
    FakeSocket.instances = [];
  }

  static last() {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  send(data) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000) {
    const connecting = this.readyState === 0;
    this.closedWith = code;
    this.readyState = 3;
    // Node 20's WebSocket fires "error" again, synchronously, when a connecting socket is closed.
    if (connecting) this.onerror?.({});
  }

  serverOpen() {
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSend(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** A connection that fails before opening, with an error event and no close event. */
  failToConnect() {
    this.onerror?.({});
  }

  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** Manual clock and timers: `advance(ms)` runs what is due. */
export class FakeTime {
  constructor(start = 1_000_000) {
    this.t = start;
    this.timers = [];
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (f, ms) => this.#add(f, ms, false);
    this.setInterval = (f, ms) => this.#add(f, ms, true);
    this.clearTimeout = (id) => this.#remove(id);
    this.clearInterval = (id) => this.#remove(id);
  }

  #add(f, ms, repeat) {
    const id = this.nextId++;
    this.timers.push({ id, f, at: this.t + ms, ms, repeat });
    return id;
  }

  #remove(id) {
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      if (due.repeat) due.at += due.ms;
      else this.#remove(due.id);
      due.f();
    }
    this.t = end;
  }

  /** Options for LiveClient using these timers and this clock. */
  options() {
    return {
      now: this.now,
      setTimeout: this.setTimeout,
      clearTimeout: this.clearTimeout,
      setInterval: this.setInterval,
      clearInterval: this.clearInterval,
      random: () => 1,
    };
  }
}

/** An in-memory Storage (getItem/setItem/removeItem). */
export class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

/** A fetch that records requests and answers from a queue of {status, body, headers}. */
export function fakeFetch(responses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const r = responses.shift();
    if (!r) throw new Error("unexpected request " + url);
    const headers = new Map(Object.entries(r.headers || {}));
    return {
      ok: r.status >= 200 && r.status < 300,
      status: r.status,
      headers: { get: (k) => headers.get(k.toLowerCase()) ?? null },
      text: async () => (r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body)),
    };
  };
  fetch.calls = calls;
  return fetch;
}
