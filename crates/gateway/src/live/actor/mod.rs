//! The driver of one session: a task that owns the [`Session`] core,
//! receives [`Cmd`]s from connections, runs the core's timers and performs
//! its [`Effect`]s (frames, durable answers, checkpoints, the score mirror,
//! final standings).
//!
//! One task per session serialises every state change without locks; the
//! work per command is microseconds, so one task serves 10,000 players. The
//! actor awaits nothing between receiving an answer and acknowledging it
//! but the answer writer's commit: the ranks are the engine's own, and the
//! shard-node mirror, when there is one, is written behind
//! ([`super::mirror`]).
//!
//! Time: every answer carries the instant its frame was received (stamped
//! by the connection's reader), and the engine judges it by that. Before it
//! lets a deadline pass ([`Session::tick`]), the actor hands the engine every
//! command already queued, so an answer received in time is accepted however
//! long the actor took to get to it.
//!
//! Stopping: when the gateway shuts down ([`super::lifecycle`]) the actor
//! hands its session over instead of finishing it: it takes the commands
//! already queued (and no more), waits until the answers it accepted are
//! stored and acknowledged and the joins it accepted are checkpointed and
//! welcomed, writes its phase to the checkpoint, releases its lease, and
//! only then closes every connection with
//! [`close::RECONNECT_NOW`]: a client that reconnects at once finds the
//! session free to take over, with everything it was told.

pub mod fanout;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use livequiz_sdk::live::{close, Capabilities, ClientMsg, ErrorCode, FinishReason, ServerMsg};
use tokio::sync::{mpsc, oneshot};

use self::fanout::Fanout;
use super::checkpoint::Checkpointer;
use super::clock::Clock;
use super::conn::{describe, encode, ConnTx, Out, Role};
use super::engine::{Effect, PendingAnswer, PhaseCheckpoint, Session, Target};
use super::lifecycle::Lifecycle;
use super::mesh::Lease;
use super::mirror::{Change, ScoreMirror};
use super::writer::AnswerWriter;
use crate::config::LiveTuningConfig;
use crate::store::live::{FinalRow, LiveStore};

/// Capacity of a session's command queue (the default of `LIVE_CMD_QUEUE`).
/// Connection tasks wait when it is full (backpressure on readers), which
/// only happens under overload.
pub const CMD_QUEUE: usize = 16_384;

/// Most extra commands an actor turn takes from its queue after the one it
/// woke for (the default of `LIVE_CMD_BATCH`; bounded so pacing still gets
/// its turn), unless a timer is due: then the queue is emptied first (see
/// the module docs).
pub const CMD_BATCH: usize = 512;

/// Longest a session being handed over waits for the answers it accepted to
/// be stored (and for joins to be checkpointed) before it lets its clients
/// go anyway: an answer not stored by then was never acknowledged, so the
/// player may send it again to the next owner. The default of
/// `LIVE_HANDOVER_FLUSH_MS`.
pub const HAND_OVER_FLUSH: Duration = Duration::from_secs(5);

/// A request to a session actor.
#[derive(Debug)]
pub enum Cmd {
    /// A new player joins with a nickname (or an account's username).
    Join {
        /// Requested nickname.
        nickname: String,
        /// Account id for logged-in players.
        account_id: Option<i64>,
        /// The two-step join pattern the player entered, if any.
        pattern: Option<String>,
        /// What the connection declared in its first frame.
        capabilities: Capabilities,
        /// The connection.
        conn: ConnTx,
        /// Player id, or why not.
        reply: oneshot::Sender<Result<u64, ErrorCode>>,
    },
    /// A player rejoins with a resume token.
    Resume {
        /// The token from the first welcome.
        token: String,
        /// What the new connection declared in its first frame.
        capabilities: Capabilities,
        /// The new connection.
        conn: ConnTx,
        /// Player id, or why not.
        reply: oneshot::Sender<Result<u64, ErrorCode>>,
    },
    /// The host attaches.
    Host {
        /// The connection.
        conn: ConnTx,
        /// Whether attached.
        reply: oneshot::Sender<Result<(), ErrorCode>>,
    },
    /// A connection closed.
    Detach {
        /// Its id.
        conn_id: u64,
        /// The player it served, if any.
        player: Option<u64>,
    },
    /// A parsed client message (`player` is `None` for the host).
    Msg {
        /// Sender.
        player: Option<u64>,
        /// The message.
        msg: ClientMsg,
        /// When the gateway received its frame: an answer is judged by it.
        received: tokio::time::Instant,
    },
    /// Another gateway owns the session now (this one lost its lease):
    /// close every connection with "going away" so clients reconnect and
    /// reach the new owner, and stop without finishing.
    Abdicate,
}

/// A join waiting for its player record to reach the checkpoint.
type PendingJoin = (
    ConnTx,
    Capabilities,
    oneshot::Sender<Result<u64, ErrorCode>>,
);

/// Everything a session actor needs besides its core.
#[derive(Clone)]
pub struct ActorDeps {
    /// Durable records.
    pub store: LiveStore,
    /// Batched answer writer.
    pub writer: AnswerWriter,
    /// Queue, batch and pacing sizes (`LIVE_CMD_QUEUE`, `LIVE_CMD_BATCH`,
    /// `LIVE_FANOUT_SLICE`, `LIVE_FANOUT_BACKLOG`).
    pub tuning: std::sync::Arc<LiveTuningConfig>,
    /// The copy of the scores on the shard-node cluster, if configured.
    pub mirror: Option<ScoreMirror>,
    /// The engine's clock.
    pub clock: Clock,
    /// The gateway's stop signals; the actor hands its session over when
    /// they say stop.
    pub life: Lifecycle,
}

/// A running session as seen by connections (here, or bridged from another
/// gateway): its id, the host's secret, and its actor's queue.
#[derive(Clone)]
pub struct SessionHandle {
    /// Session id (0 while the session is being created).
    pub id: i64,
    /// Secret of the host.
    pub host_token: String,
    /// The actor's queue.
    pub tx: mpsc::Sender<Cmd>,
    /// Set by the actor when it stops without finishing the session (handed
    /// over on shutdown, or abdicated): a connection it no longer takes
    /// is told to try again, not that the session finished.
    moved: Arc<AtomicBool>,
}

impl SessionHandle {
    /// The handle of a session whose actor reads `tx`.
    pub fn new(id: i64, host_token: String, tx: mpsc::Sender<Cmd>) -> Self {
        SessionHandle {
            id,
            host_token,
            tx,
            moved: Arc::default(),
        }
    }

    /// Whether the session runs (a placeholder reserving a code does not).
    pub fn is_running(&self) -> bool {
        self.id != 0
    }

    /// Why the actor did not take a command: the session finished, or
    /// (`internal`, transient) it left this gateway.
    fn gone(&self) -> ErrorCode {
        if self.moved.load(Ordering::Acquire) {
            ErrorCode::Internal
        } else {
            ErrorCode::Finished
        }
    }

    /// The flag the actor sets when it stops without finishing (see
    /// [`Tenure`]).
    pub fn moved_flag(&self) -> Arc<AtomicBool> {
        self.moved.clone()
    }

    /// Attaches `conn` as `role`; the player id, `None` for the host.
    pub async fn attach(&self, role: Role, conn: ConnTx) -> Result<Option<u64>, ErrorCode> {
        let (reply, rx) = oneshot::channel();
        let cmd = match role {
            Role::Host { host_token } => {
                if self.host_token.is_empty() || host_token != self.host_token {
                    return Err(ErrorCode::Unauthorized);
                }
                let (reply, rx) = oneshot::channel();
                self.tx
                    .send(Cmd::Host { conn, reply })
                    .await
                    .map_err(|_| self.gone())?;
                rx.await.map_err(|_| self.gone())??;
                return Ok(None);
            }
            Role::Resume {
                token,
                capabilities,
            } => Cmd::Resume {
                token,
                capabilities,
                conn,
                reply,
            },
            Role::Join {
                nickname,
                account_id,
                pattern,
                capabilities,
            } => Cmd::Join {
                nickname,
                account_id,
                pattern,
                capabilities,
                conn,
                reply,
            },
        };
        self.tx.send(cmd).await.map_err(|_| self.gone())?;
        let id = rx.await.map_err(|_| self.gone())??;
        Ok(Some(id))
    }

    /// Passes a client message received at `received`; false when the
    /// session is gone.
    pub async fn send(
        &self,
        player: Option<u64>,
        msg: ClientMsg,
        received: tokio::time::Instant,
    ) -> bool {
        let cmd = Cmd::Msg {
            player,
            msg,
            received,
        };
        self.tx.send(cmd).await.is_ok()
    }

    /// Connection `conn_id` (of `player`, if a player) closed.
    pub async fn detach(&self, conn_id: u64, player: Option<u64>) {
        let _ = self.tx.send(Cmd::Detach { conn_id, player }).await;
    }

    /// Another gateway owns the session now: the actor closes its
    /// connections with "going away" and stops.
    pub async fn abdicate(&self) {
        let _ = self.tx.send(Cmd::Abdicate).await;
    }

    /// Resolves once the actor has stopped taking commands.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// What a session actor holds besides its core, for as long as it runs the
/// session here.
#[derive(Debug, Default)]
pub struct Tenure {
    /// Its owner lease, with a mesh of gateways: released when the session
    /// is handed over (before the clients are told to reconnect) or when
    /// the actor ends.
    pub lease: Option<Lease>,
    /// The handle's flag ([`SessionHandle::moved_flag`]), set when the actor
    /// stops without finishing.
    pub moved: Arc<AtomicBool>,
}

/// Runs a session until it finishes, is handed over (the gateway stops) or
/// every command sender is gone; calls `on_exit` last (the registry forgets
/// the code). A join is welcomed once its player record is in the
/// checkpoint (`stored_rx` returns the ids of stored records), and phase
/// changes are written as they happen.
pub async fn run(
    mut session: Session,
    deps: ActorDeps,
    mut rx: mpsc::Receiver<Cmd>,
    (cp, mut stored_rx): (Checkpointer, mpsc::UnboundedReceiver<u64>),
    tenure: Tenure,
    on_exit: impl FnOnce() + Send,
) {
    let (commit_tx, mut commit_rx) = mpsc::unbounded_channel::<Vec<PendingAnswer>>();
    let clock = deps.clock;
    let life = deps.life.clone();
    let mut actor = Actor {
        fanout: Fanout::new(deps.tuning.fanout_backlog),
        deps,
        commit_tx,
        done: false,
        cp,
        joining: HashMap::new(),
        last_phase: None,
        in_flight: 0,
        lease: tenure.lease,
        moved: tenure.moved,
    };
    while !actor.done {
        let wake = session.next_wakeup().map(|w| clock.runtime(w));
        let backlogged = actor.fanout.backlogged();
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => actor.handle(&mut session, cmd),
                None => break,
            },
            Some(batch) = commit_rx.recv() => actor.committed(&mut session, batch),
            Some(player) = stored_rx.recv() => actor.stored(&mut session, player),
            _ = life.stopping() => {
                actor
                    .hand_over(&mut session, &mut rx, &mut commit_rx, &mut stored_rx)
                    .await;
                break;
            }
            _ = sleep_until(wake), if wake.is_some() => {}
            // Paced fan-out: the next slice after the connection tasks woken
            // by the last one had their turn.
            _ = tokio::task::yield_now(), if backlogged => {}
        }
        // Then everything else that is ready, without waiting: while a
        // backlog is paced out the actor yields after every slice, and one
        // command per turn would let answers queue up behind a question's
        // 10,000-frame fan-out. When a timer is due (a deadline may pass in
        // this turn), everything already queued goes first: answers received
        // before the deadline must reach the engine before it closes the
        // question. The queue is bounded, and readers stamp their frames
        // before they queue them, so this ends.
        let timer_due = session.next_wakeup().is_some_and(|w| w <= clock.now());
        let tuning = &actor.deps.tuning;
        let take = if timer_due {
            2 * tuning.cmd_queue
        } else {
            tuning.cmd_batch
        };
        for _ in 0..take {
            match rx.try_recv() {
                Ok(cmd) => actor.handle(&mut session, cmd),
                Err(_) => break,
            }
        }
        while let Ok(batch) = commit_rx.try_recv() {
            actor.committed(&mut session, batch);
        }
        while let Ok(player) = stored_rx.try_recv() {
            actor.stored(&mut session, player);
        }
        actor.drain(&mut session).await;
        let now = clock.now();
        session.tick(now);
        actor.drain(&mut session).await;
        // The next push once the last one has left (see `Fanout::pushing`).
        if session.push_due(now) && !actor.fanout.pushing() {
            session.push(now);
            actor.drain(&mut session).await;
        }
        actor.resync_mirror(&session);
        actor.checkpoint_phase(&session);
        if actor.fanout.pump(actor.deps.tuning.fanout_slice) {
            // More to deliver: let the woken connection tasks (and acks)
            // run first, even while commands keep arriving.
            tokio::task::yield_now().await;
        }
    }
    // Whatever is still paced (final standings, close frames) goes now.
    actor.fanout.pump(usize::MAX);
    // The lease (if still held: the session finished or abdicated) is given
    // up by its keeper once dropped.
    drop(actor);
    on_exit();
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

struct Actor {
    deps: ActorDeps,
    fanout: Fanout,
    commit_tx: mpsc::UnboundedSender<Vec<PendingAnswer>>,
    done: bool,
    /// Checkpoint writer.
    cp: Checkpointer,
    /// Joins waiting for their player record to be stored, by player.
    joining: HashMap<u64, Vec<PendingJoin>>,
    /// The phase last written to the checkpoint.
    last_phase: Option<PhaseCheckpoint>,
    /// Answers given to the writer and not yet reported stored.
    in_flight: usize,
    /// The owner lease, with a mesh of gateways.
    lease: Option<Lease>,
    /// See [`Tenure::moved`].
    moved: Arc<AtomicBool>,
}

impl Actor {
    /// A batch is durable: `live_answer_commit_seconds` (received until back
    /// here), then ack it (its points wait for the question's close).
    fn committed(&mut self, session: &mut Session, batch: Vec<PendingAnswer>) {
        let now = self.deps.clock.now();
        for a in &batch {
            metrics::histogram!("live_answer_commit_seconds")
                .record(now.saturating_duration_since(a.accepted).as_secs_f64());
        }
        self.in_flight = self.in_flight.saturating_sub(batch.len());
        session.commit(now, batch);
    }

    /// The gateway is shutting down: hands the session over (see the module
    /// docs). Ends with the connections closed, or with the session
    /// finished if that is where the commands already queued took it.
    async fn hand_over(
        &mut self,
        session: &mut Session,
        rx: &mut mpsc::Receiver<Cmd>,
        commit_rx: &mut mpsc::UnboundedReceiver<Vec<PendingAnswer>>,
        stored_rx: &mut mpsc::UnboundedReceiver<u64>,
    ) {
        // From now on a connection the actor does not take is sent to try
        // again, not told the session finished.
        self.moved.store(true, Ordering::Release);
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            self.handle(session, cmd);
        }
        self.drain(session).await;
        let flushed = tokio::time::Instant::now() + self.deps.tuning.handover_flush;
        while !self.done && (self.in_flight > 0 || !self.joining.is_empty()) {
            tokio::select! {
                Some(batch) = commit_rx.recv() => self.committed(session, batch),
                Some(player) = stored_rx.recv() => self.stored(session, player),
                _ = tokio::time::sleep_until(flushed) => {
                    tracing::error!(
                        code = session.code,
                        answers = self.in_flight,
                        joins = self.joining.len(),
                        "live hand-over: answers or joins still not stored; the clients go without them"
                    );
                    break;
                }
            }
            self.drain(session).await;
        }
        if self.done {
            // Finished (the host ended it) or abdicated by the commands it
            // had: the clients have been told.
            return;
        }
        for (_, _, reply) in self.joining.drain().flat_map(|(_, v)| v) {
            let _ = reply.send(Err(ErrorCode::Internal));
        }
        // The next owner starts from the checkpoint: it must be complete
        // before anyone can take the session.
        self.checkpoint_phase(session);
        self.cp.flush().await;
        if let Some(lease) = self.lease.take() {
            lease.release().await;
        }
        self.fanout.close(Target::All, close::RECONNECT_NOW);
        self.done = true;
        metrics::counter!("live_sessions_handed_over_total").increment(1);
        tracing::info!(
            code = session.code,
            session = session.id,
            players = session.roster.len(),
            "live session handed over"
        );
    }

    fn handle(&mut self, session: &mut Session, cmd: Cmd) {
        let now = self.deps.clock.now();
        match cmd {
            Cmd::Join {
                nickname,
                account_id,
                pattern,
                capabilities,
                conn,
                reply,
            } => {
                let token = new_token();
                match session.join_with(now, &nickname, account_id, pattern.as_deref(), token) {
                    Ok(id) => {
                        // Welcomed once the record is stored: a welcomed
                        // player can resume after a crash, on whichever
                        // gateway takes over.
                        if let Some(rec) = session.player_record(id, session.epoch(now)) {
                            self.cp.player(rec);
                        }
                        self.joining
                            .entry(id)
                            .or_default()
                            .push((conn, capabilities, reply));
                    }
                    Err(e) => {
                        metrics::counter!("live_joins_refused_total", "code" => code_name(e))
                            .increment(1);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Cmd::Resume {
                token,
                capabilities,
                conn,
                reply,
            } => {
                let result = session.resume(&token);
                if let Ok(id) = result {
                    self.attach(session, now, id, conn, capabilities);
                }
                let _ = reply.send(result);
            }
            Cmd::Host { conn, reply } => {
                session.host_active(now);
                let welcome = ServerMsg::Welcome(session.welcome(now, None));
                conn.push(Out::Frame(encode(&welcome)));
                if let Some(pattern) = session.pattern_frame() {
                    conn.push(Out::Frame(encode(&pattern)));
                }
                self.fanout.add_host(conn);
                let _ = reply.send(Ok(()));
            }
            Cmd::Detach { conn_id, player } => {
                if self.fanout.remove(conn_id, player) {
                    if let Some(p) = player {
                        session.detach(p);
                    }
                }
            }
            Cmd::Abdicate => {
                self.moved.store(true, Ordering::Release);
                tracing::warn!(
                    code = session.code,
                    "live session lease lost: another gateway owns it now"
                );
                self.fanout.close(Target::All, close::GOING_AWAY);
                for (_, _, reply) in self.joining.drain().flat_map(|(_, v)| v) {
                    let _ = reply.send(Err(ErrorCode::Internal));
                }
                self.done = true;
            }
            Cmd::Msg {
                player,
                msg,
                received,
            } => {
                if player.is_none() {
                    session.host_active(now);
                }
                let received = self.deps.clock.at(received);
                let result = self.client_msg(session, now, received, player, msg);
                if let Err((code, req)) = result {
                    let target = player.map_or(Target::Host, Target::Player);
                    let msg = ServerMsg::Error {
                        code,
                        message: describe(code).into(),
                        req,
                    };
                    self.fanout.send(target, &msg);
                }
            }
        }
    }

    /// A joined player's record is stored: welcome its connection(s).
    fn stored(&mut self, session: &mut Session, player: u64) {
        let now = self.deps.clock.now();
        for (conn, capabilities, reply) in self.joining.remove(&player).unwrap_or_default() {
            if session.roster.get(player).is_some() {
                self.attach(session, now, player, conn, capabilities);
                let _ = reply.send(Ok(player));
            } else {
                let _ = reply.send(Err(ErrorCode::UnknownPlayer));
            }
        }
    }

    /// Writes the phase to the checkpoint when it changed.
    fn checkpoint_phase(&mut self, session: &Session) {
        if self.done {
            return; // finished (the checkpoint is deleted) or abdicated
        }
        let now = session.phase_checkpoint();
        if self.last_phase.as_ref() != Some(&now) {
            self.cp.phase(now.clone());
            self.last_phase = Some(now);
        }
    }

    fn attach(
        &mut self,
        session: &mut Session,
        now: super::engine::Instant,
        player: u64,
        conn: ConnTx,
        capabilities: Capabilities,
    ) {
        let welcome = ServerMsg::Welcome(session.welcome(now, Some(player)));
        conn.push(Out::Frame(encode(&welcome)));
        self.fanout.add_player(player, conn);
        session.attach_with(now, player, capabilities);
    }

    /// One client message, handled at `now`, received at `received`.
    fn client_msg(
        &mut self,
        session: &mut Session,
        now: super::engine::Instant,
        received: super::engine::Instant,
        player: Option<u64>,
        msg: ClientMsg,
    ) -> Result<(), (ErrorCode, Option<u64>)> {
        match (player, msg) {
            (
                Some(p),
                ClientMsg::Answer {
                    question,
                    choices,
                    req,
                },
            ) => {
                let pending = session
                    .answer(received, p, question, &choices, req)
                    .map_err(|c| (c, req))?;
                metrics::counter!("live_answers_accepted_total").increment(1);
                if !self.deps.writer.submit(pending, self.commit_tx.clone()) {
                    return Err((ErrorCode::Internal, req));
                }
                self.in_flight += 1;
                Ok(())
            }
            (None, ClientMsg::Answer { req, .. }) => Err((ErrorCode::NotPlayer, req)),
            (
                Some(_),
                ClientMsg::Start
                | ClientMsg::Skip
                | ClientMsg::End
                | ClientMsg::Remove { .. }
                | ClientMsg::Ban { .. }
                | ClientMsg::Lock
                | ClientMsg::Unlock
                | ClientMsg::ExtraTime { .. },
            ) => Err((ErrorCode::NotHost, None)),
            (None, ClientMsg::Start) => session.start(now).map_err(|c| (c, None)),
            (None, ClientMsg::Skip) => session.skip(now).map_err(|c| (c, None)),
            (None, ClientMsg::End) => session.end(now).map_err(|c| (c, None)),
            (None, ClientMsg::Remove { player_id }) => {
                session.remove(now, player_id).map_err(|c| (c, None))?;
                self.cp.removed(player_id);
                Ok(())
            }
            (None, ClientMsg::Ban { player_id }) => {
                let record = session.ban(now, player_id).map_err(|c| (c, None))?;
                self.cp.banned(record);
                Ok(())
            }
            (None, ClientMsg::Lock) => session.set_locked(true).map_err(|c| (c, None)),
            (None, ClientMsg::Unlock) => session.set_locked(false).map_err(|c| (c, None)),
            (None, ClientMsg::ExtraTime { player_id, percent }) => {
                let record = session
                    .set_extra_time(player_id, percent)
                    .map_err(|c| (c, None))?;
                // Rewritten so a gateway taking the session over keeps it.
                self.cp.update(record);
                Ok(())
            }
            (_, ClientMsg::Ping) => Ok(()), // answered by the connection task
            // A message the protocol crate knows and this gateway does not handle yet: refused
            // like an unknown frame, nothing changes.
            (_, _) => Err((ErrorCode::BadMessage, None)),
        }
    }

    /// Performs the core's effects in order.
    async fn drain(&mut self, session: &mut Session) {
        loop {
            let effects = session.take_effects();
            if effects.is_empty() {
                return;
            }
            for e in effects {
                match e {
                    Effect::Send(target, msg) => self.fanout.send(target, &msg),
                    Effect::SendPlayers { shared, personal } => {
                        self.fanout.send_players(&shared, &personal)
                    }
                    Effect::Close(target, code) => self.fanout.close(target, code),
                    Effect::Score(writes) => {
                        if let Some(m) = &self.deps.mirror {
                            m.write(session.id, writes);
                        }
                    }
                    Effect::Unscore(player) => {
                        if let Some(m) = &self.deps.mirror {
                            m.send(session.id, Change::Remove(player));
                        }
                    }
                    Effect::Finished => self.finish(session).await,
                }
            }
        }
    }

    /// Queues a reset of the session's mirrored board when the mirror lost
    /// some of its changes (see [`super::mirror`]).
    fn resync_mirror(&self, session: &Session) {
        let Some(m) = &self.deps.mirror else {
            return;
        };
        if !self.done && m.take_resync(session.id) {
            let tag = format!("resync:{}", crate::db::now_ms());
            m.send(session.id, Change::Reset(session.mirror_writes(&tag)));
        }
    }

    async fn finish(&mut self, session: &mut Session) {
        let reason = session.finish_reason().map_or("completed", finish_name);
        metrics::counter!("live_sessions_finished_total", "reason" => reason).increment(1);
        tracing::info!(
            session = session.id,
            code = session.code,
            reason,
            "live session finished"
        );
        let standings = session.finished_frames();
        let rows: Vec<FinalRow> = standings
            .into_iter()
            .map(|s| {
                let player = session.roster.get(s.player_id);
                let account_id = player.and_then(|p| p.account_id);
                // Not connected when it ended: left (a quick match counts it as abandoned).
                let left = player.is_some_and(|p| !p.connected);
                FinalRow {
                    standing: s,
                    account_id,
                    left,
                }
            })
            .collect();
        // Stored before the Finished frames go out, so a client that sees
        // them can read the standings back.
        let mut backoff = std::time::Duration::from_millis(50);
        for _ in 0..8 {
            match self.deps.store.finish_session(session.id, &rows).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, session = session.id, "storing final standings failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        // Before the lease goes: no gateway may take a finished session over.
        self.cp.clear().await;
        if let Some(m) = &self.deps.mirror {
            m.forget(session.id);
            m.send(session.id, Change::Drop);
        }
        self.done = true;
    }
}

/// A fresh resume token: 128 random bits, hex.
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The wire name of a refusal, for metric labels.
fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NicknameTaken => "nickname_taken",
        ErrorCode::BadNickname => "bad_nickname",
        ErrorCode::Finished => "finished",
        ErrorCode::SessionFull => "session_full",
        ErrorCode::Locked => "locked",
        ErrorCode::Banned => "banned",
        ErrorCode::BadPattern => "bad_pattern",
        _ => "other",
    }
}

/// The wire name of a finish reason, for logs and metric labels.
fn finish_name(reason: FinishReason) -> &'static str {
    reason.as_str()
}
