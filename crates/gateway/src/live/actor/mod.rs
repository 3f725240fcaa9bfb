//! The async driver of one session: a task that owns the [`Session`] core,
//! receives [`Cmd`]s from connections, runs the core's timers and performs
//! its [`Effect`]s (frames, board writes, durable answers, final standings).
//!
//! One task per session serialises every state change without locks; the
//! work per command is microseconds, so one task serves 10,000 players.

pub mod fanout;

use std::collections::HashMap;
use std::sync::Arc;

use sdk::live::{close, ClientMsg, ErrorCode, FinishReason, ServerMsg};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use self::fanout::{encode, ConnTx, Fanout, Out};
use super::checkpoint::Checkpointer;
use super::engine::{Effect, PendingAnswer, PhaseCheckpoint, Session, Target};
use super::score::ScoreBoard;
use super::writer::AnswerWriter;
use crate::config::LiveTuningConfig;
use crate::store::live::{FinalRow, LiveStore};

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
        /// The connection.
        conn: ConnTx,
        /// Player id, or why not.
        reply: oneshot::Sender<Result<u64, ErrorCode>>,
    },
    /// A player rejoins with a resume token.
    Resume {
        /// The token from the first welcome.
        token: String,
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
    },
    /// Another gateway owns the session now (this one lost its lease):
    /// close every connection with "going away" so clients reconnect and
    /// reach the new owner, and stop without finishing.
    Abdicate,
}

/// A join waiting for its player record to reach the checkpoint.
type PendingJoin = (ConnTx, oneshot::Sender<Result<u64, ErrorCode>>);

/// Everything a session actor needs besides its core.
#[derive(Clone)]
pub struct ActorDeps {
    /// Where scores are ranked.
    pub board: Arc<dyn ScoreBoard>,
    /// Durable records.
    pub store: LiveStore,
    /// Batched answer writer.
    pub writer: AnswerWriter,
    /// Queue, batch and pacing sizes (`LIVE_CMD_QUEUE`: connection tasks
    /// wait when a session's command queue is full, which only happens
    /// under overload; `LIVE_CMD_BATCH`: the extra commands a turn takes
    /// after the one it woke for, bounded so timers and pacing still get
    /// their turn; `LIVE_FANOUT_SLICE`, `LIVE_FANOUT_BACKLOG`).
    pub tuning: Arc<LiveTuningConfig>,
}

/// Runs a session until it finishes or every command sender is gone;
/// calls `on_exit` last (the registry forgets the code). A join is
/// welcomed once its player record is in the checkpoint (`stored_rx`
/// returns the ids of stored records), and phase changes are written as
/// they happen.
pub async fn run(
    mut session: Session,
    deps: ActorDeps,
    mut rx: mpsc::Receiver<Cmd>,
    (cp, mut stored_rx): (Checkpointer, mpsc::UnboundedReceiver<u64>),
    on_exit: impl FnOnce() + Send,
) {
    let (commit_tx, mut commit_rx) = mpsc::unbounded_channel::<Vec<PendingAnswer>>();
    let mut actor = Actor {
        fanout: Fanout::new(deps.tuning.fanout_backlog),
        deps,
        commit_tx,
        done: false,
        cp,
        joining: HashMap::new(),
        last_phase: None,
    };
    while !actor.done {
        let wake = session.next_wakeup();
        let backlogged = actor.fanout.backlogged();
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => actor.handle(&mut session, cmd),
                None => break,
            },
            Some(batch) = commit_rx.recv() => committed(&mut session, batch),
            Some(player) = stored_rx.recv() => actor.stored(&mut session, player),
            _ = sleep_until(wake), if wake.is_some() => {}
            // Paced fan-out: the next slice after the connection tasks woken
            // by the last one had their turn.
            _ = tokio::task::yield_now(), if backlogged => {}
        }
        // Then everything else that is ready, without waiting: while a
        // backlog is paced out the actor yields after every slice, and one
        // command per turn would let answers queue up behind a question's
        // 10,000-frame fan-out.
        for _ in 0..actor.deps.tuning.cmd_batch {
            match rx.try_recv() {
                Ok(cmd) => actor.handle(&mut session, cmd),
                Err(_) => break,
            }
        }
        while let Ok(batch) = commit_rx.try_recv() {
            committed(&mut session, batch);
        }
        while let Ok(player) = stored_rx.try_recv() {
            actor.stored(&mut session, player);
        }
        actor.drain(&mut session).await;
        let now = Instant::now();
        session.tick(now);
        actor.drain(&mut session).await;
        if let Some(needs_board) = session.push_due(now) {
            let (top, ranks) = if needs_board {
                let ids = session.rank_ids();
                let top = actor.deps.board.top(session.id, session.top_n()).await;
                let ranks = if ids.is_empty() {
                    Ok(Vec::new())
                } else {
                    actor.deps.board.ranks(session.id, &ids).await
                };
                match (top, ranks) {
                    (Ok(t), Ok(r)) => (t, r),
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::warn!(error = %e, "live leaderboard read failed");
                        (Vec::new(), Vec::new())
                    }
                }
            } else {
                (Vec::new(), Vec::new())
            };
            session.push(now, top, ranks);
            actor.drain(&mut session).await;
        }
        actor.checkpoint_phase(&session);
        if actor.fanout.pump(actor.deps.tuning.fanout_slice) {
            // More to deliver: let the woken connection tasks (and acks)
            // run first, even while commands keep arriving.
            tokio::task::yield_now().await;
        }
    }
    // Whatever is still paced (final standings, close frames) goes now.
    actor.fanout.pump(usize::MAX);
    on_exit();
}

/// A batch is durable: `live_answer_commit_seconds` (accepted until back
/// here), then ack it (its points wait for the question's close).
fn committed(session: &mut Session, batch: Vec<PendingAnswer>) {
    let now = Instant::now();
    for a in &batch {
        metrics::histogram!("live_answer_commit_seconds")
            .record(now.saturating_duration_since(a.accepted).as_secs_f64());
    }
    session.commit(now, batch);
}

async fn sleep_until(at: Option<Instant>) {
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
}

impl Actor {
    fn handle(&mut self, session: &mut Session, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Join {
                nickname,
                account_id,
                pattern,
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
                        self.joining.entry(id).or_default().push((conn, reply));
                    }
                    Err(e) => {
                        metrics::counter!("live_joins_refused_total", "code" => code_name(e))
                            .increment(1);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Cmd::Resume { token, conn, reply } => {
                let result = session.resume(&token);
                if let Ok(id) = result {
                    self.attach(session, now, id, conn);
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
                tracing::warn!(
                    code = session.code,
                    "live session lease lost: another gateway owns it now"
                );
                self.fanout.close(Target::All, close::GOING_AWAY);
                for (_, reply) in self.joining.drain().flat_map(|(_, v)| v) {
                    let _ = reply.send(Err(ErrorCode::Internal));
                }
                self.done = true;
            }
            Cmd::Msg { player, msg } => {
                if player.is_none() {
                    session.host_active(now);
                }
                let result = self.client_msg(session, now, player, msg);
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
        let now = Instant::now();
        for (conn, reply) in self.joining.remove(&player).unwrap_or_default() {
            if session.roster.get(player).is_some() {
                self.attach(session, now, player, conn);
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

    fn attach(&mut self, session: &mut Session, now: Instant, player: u64, conn: ConnTx) {
        let welcome = ServerMsg::Welcome(session.welcome(now, Some(player)));
        conn.push(Out::Frame(encode(&welcome)));
        self.fanout.add_player(player, conn);
        session.attach(now, player);
    }

    fn client_msg(
        &mut self,
        session: &mut Session,
        now: Instant,
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
                    .answer(now, p, question, &choices, req)
                    .map_err(|c| (c, req))?;
                metrics::counter!("live_answers_accepted_total").increment(1);
                if !self.deps.writer.submit(pending, self.commit_tx.clone()) {
                    return Err((ErrorCode::Internal, req));
                }
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
                        if let Err(e) = self.deps.board.apply(session.id, writes).await {
                            tracing::error!(error = %e, session = session.id, "live score write failed");
                        }
                    }
                    Effect::Unscore(player) => {
                        if let Err(e) = self.deps.board.remove(session.id, player).await {
                            tracing::error!(error = %e, session = session.id, "live score removal failed");
                        }
                    }
                    Effect::Finished => self.finish(session).await,
                }
            }
        }
    }

    async fn finish(&mut self, session: &mut Session) {
        let all = match self.deps.board.all(session.id).await {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, session = session.id, "live final standings read failed");
                Vec::new()
            }
        };
        let reason = session.finish_reason().map_or("completed", finish_name);
        metrics::counter!("live_sessions_finished_total", "reason" => reason).increment(1);
        tracing::info!(
            session = session.id,
            code = session.code,
            reason,
            "live session finished"
        );
        let standings = session.finished_frames(&all);
        let rows: Vec<FinalRow> = standings
            .into_iter()
            .map(|s| {
                let account_id = session.roster.get(s.player_id).and_then(|p| p.account_id);
                FinalRow {
                    standing: s,
                    account_id,
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
        let _ = self.deps.board.drop_session(session.id).await;
        self.done = true;
    }
}

/// A fresh resume token: 128 random bits, hex.
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The human-readable message of an error code.
pub fn describe(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadMessage => "the frame is not a valid protocol message",
        ErrorCode::TooLarge => "the frame is too large",
        ErrorCode::UnknownSession => "no live session has this code",
        ErrorCode::NicknameTaken => "this nickname is already used in the session",
        ErrorCode::BadNickname => "nicknames are 1-32 characters without control characters",
        ErrorCode::BadResumeToken => "the resume token is not valid for this session",
        ErrorCode::Unauthorized => "missing or invalid token",
        ErrorCode::NotHost => "only the host can do this",
        ErrorCode::NotPlayer => "only players can answer",
        ErrorCode::NotOpen => "that question is not open",
        ErrorCode::TooLate => "the deadline has passed",
        ErrorCode::AlreadyAnswered => "you already answered this question",
        ErrorCode::BadChoice => "choices must be distinct indices of this question's choices",
        ErrorCode::WrongPhase => "not possible in the session's current phase",
        ErrorCode::UnknownPlayer => "no such player in this session",
        ErrorCode::Finished => "the session has finished",
        ErrorCode::Internal => "internal error; try again",
        ErrorCode::SessionFull => "the session has as many players as it admits",
        ErrorCode::Locked => "the host locked the session: no new players",
        ErrorCode::Banned => "the host banned you from this session",
        ErrorCode::BadPattern => {
            "enter the join pattern shown on the host's screen (it changes every few seconds)"
        }
        ErrorCode::BadExtraTime => {
            "extra time is a percent of the time limit from 100 (none) to 300 (three times)"
        }
    }
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
    match reason {
        FinishReason::Completed => "completed",
        FinishReason::Host => "host",
        FinishReason::LobbyIdle => "lobby_idle",
        FinishReason::MaxDuration => "max_duration",
    }
}
