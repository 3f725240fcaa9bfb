//! [`LiveService`]: the registry of sessions this gateway runs, join-code
//! allocation, session creation (within the host's quota of running
//! sessions and the gateway's [`LivePolicy`]), takeover, and shutdown
//! ([`LiveService::shutdown`]: every session handed over, every task
//! ended; see [`super::lifecycle`]).
//! Join codes come from the private `codes` module (bounded allocation);
//! where a code's session runs is [`LiveService::route`] (in `route`). The
//! other gateways are a [`Mesh`] here, never the Redis implementation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use livequiz_sdk::live::{CreateSession, CreatedSession};
use tokio::sync::mpsc;

use super::actor::{self, ActorDeps, Cmd, SessionHandle, Tenure};
use super::admission::LivePolicy;
use super::checkpoint::{CheckpointStore, Checkpointer, SqlCheckpoints};
use super::clock::Clock;
use super::engine::scoring::validate_rules;
use super::engine::{
    AnswerRecord, Hostless, JoinRules, LiveQuestion, LiveQuiz, PhaseRecord, Session, SessionMeta,
};
use super::lifecycle::Lifecycle;
use super::mesh::{LocalSessions, Mesh, MeshFuture};
use super::mirror::{Change, MirrorTarget, ScoreMirror};
use super::writer::AnswerWriter;
use crate::auth::Authenticator;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::limits::{ClientIp, Limits};
use crate::store::live::{HostQuota, LiveStore, NewSession};
use crate::store::StoreError;

/// A logged-in account as the live module needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User id.
    pub id: i64,
    /// Username (the nickname when joining with a token).
    pub username: String,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The request is invalid (message says which field).
    #[error("{0}")]
    Invalid(String),
    /// No such quiz.
    #[error("quiz {0} does not exist")]
    QuizNotFound(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis Cluster (session ownership) failed.
    #[error("redis: {0}")]
    Cluster(#[from] redis::RedisError),
    /// The session's checkpoint could not be written.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The host already runs as many sessions as the gateway allows.
    #[error(
        "you already run {0} live sessions, the most allowed per user \
         (LIVE_MAX_SESSIONS_PER_USER); end one or wait for it to finish"
    )]
    TooManySessions(u32),
    /// The batch this session was created with could not be recorded (the
    /// database's error; the first session of the batch has it as
    /// [`CreateError::Store`]).
    #[error("recording the batch of sessions failed: {0}")]
    Batch(String),
    /// Every join code is taken (or none turned up in a bounded search).
    #[error("no free join code; try again later")]
    NoFreeCode,
}

/// The live-quiz service of one gateway process.
pub struct LiveService {
    pub(super) sessions: Arc<Mutex<HashMap<String, SessionHandle>>>,
    deps: ActorDeps,
    /// Where sessions are checkpointed without a mesh (the database).
    sql_checkpoints: Arc<dyn CheckpointStore>,
    auth: Authenticator,
    next_conn: AtomicU64,
    mesh: OnceLock<Arc<dyn Mesh>>,
    /// Held while this gateway restores a session it took over, so that
    /// connections for that code wait for it instead of missing it.
    takeover: tokio::sync::Mutex<()>,
    policy: LivePolicy,
    /// The gateway's per-client limits (join attempts per address); none in
    /// tests that build the service alone.
    limits: OnceLock<Arc<Limits>>,
    /// Slots of live WebSockets and their number, once the server bounds
    /// them (see [`LiveService::bound_websockets`]).
    websockets: OnceLock<(Arc<tokio::sync::Semaphore>, usize)>,
}

impl LiveService {
    /// A service over a store and the gateway's authenticator (a join
    /// frame's login token is resolved as a REST request's is), without a
    /// score mirror. Spawns the answer writer, so call it inside a tokio
    /// runtime.
    pub fn new(store: LiveStore, auth: Authenticator) -> Arc<Self> {
        Self::with_policy(store, auth, LivePolicy::default(), None)
    }

    /// [`LiveService::new`] with the gateway's live-session settings and
    /// the shard-node score mirror, if one is configured (its worker is
    /// started here).
    pub fn with_policy(
        store: LiveStore,
        auth: Authenticator,
        policy: LivePolicy,
        mirror: Option<Arc<dyn MirrorTarget>>,
    ) -> Arc<Self> {
        let life = Lifecycle::new();
        let tuning = policy.tuning.clone();
        let writer =
            AnswerWriter::spawn(store.clone(), tuning.answer_batch_max, tuning.answer_flush);
        let sql_checkpoints = Arc::new(SqlCheckpoints::new(store.clone(), tuning.checkpoint_ttl));
        let mirror = mirror.map(|target| {
            ScoreMirror::spawn_with(target, tuning.mirror_queue, tuning.mirror_give_up, &life)
        });
        Arc::new(LiveService {
            sessions: Arc::new(Mutex::new(HashMap::new())),
            sql_checkpoints,
            deps: ActorDeps {
                store,
                writer,
                tuning,
                mirror,
                clock: Clock::start(),
                life,
            },
            auth,
            next_conn: AtomicU64::new(1),
            mesh: OnceLock::new(),
            takeover: tokio::sync::Mutex::new(()),
            policy,
            limits: OnceLock::new(),
            websockets: OnceLock::new(),
        })
    }

    /// Counts join attempts against the gateway's per-address limit from now
    /// on (see [`super::ws::JoinAdmission`]).
    pub fn use_limits(&self, limits: Arc<Limits>) {
        let _ = self.limits.set(limits);
    }

    /// Holds at most `bound` live WebSockets at once from now on (see
    /// [`super::ws::WsSlot`]); the server sets it once, from
    /// `LIVE_MAX_WS_CONNECTIONS` and its connection cap.
    pub fn bound_websockets(&self, bound: usize) {
        let _ = self
            .websockets
            .set((Arc::new(tokio::sync::Semaphore::new(bound)), bound));
    }

    /// The live WebSocket slots and their number, if bounded.
    pub fn websocket_slots(&self) -> Option<(Arc<tokio::sync::Semaphore>, usize)> {
        self.websockets.get().cloned()
    }

    /// The live-session settings.
    pub fn policy(&self) -> &LivePolicy {
        &self.policy
    }

    /// The stop signals and task tracker of the live module.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.deps.life
    }

    /// Shuts the live module down (see [`super::lifecycle`]): every session
    /// is handed over (answers it accepted stored and acknowledged,
    /// checkpoint written, lease released, clients told to reconnect at
    /// once), then every task of the module ends and the answer writer
    /// flushes and stops. Each step is bounded (`LIVE_SHUTDOWN_STEP_MS`).
    /// Idempotent.
    pub async fn shutdown(&self) {
        let sessions = self.running();
        let started = std::time::Instant::now();
        let step = self.policy.tuning.shutdown_step;
        let ended = self.deps.life.stop(step).await;
        let flushed = tokio::time::timeout(step, self.deps.writer.close())
            .await
            .is_ok();
        if !flushed {
            tracing::error!("live shutdown: the answer writer did not finish in time");
        }
        tracing::info!(
            sessions,
            complete = ended && flushed,
            ms = started.elapsed().as_millis() as u64,
            "live sessions handed over; live module stopped"
        );
    }

    /// Counts one join attempt of `client`; `RateLimited` (429) when its
    /// address is over `JOIN_PER_IP_PER_MIN`.
    pub fn admit_join(&self, client: ClientIp) -> Result<(), ApiError> {
        match self.limits.get() {
            Some(limits) => limits.join_ip.check(&client.0),
            None => Ok(()),
        }
    }

    /// Shares sessions with the other gateways of `mesh` from now on (see
    /// [`super::cluster`]); without a mesh sessions are process-local.
    pub fn join_mesh(&self, mesh: Arc<dyn Mesh>) {
        let _ = self.mesh.set(mesh);
    }

    /// The mesh of gateways, when joined.
    pub fn mesh(&self) -> Option<&Arc<dyn Mesh>> {
        self.mesh.get()
    }

    /// Where sessions are checkpointed: the mesh's store (Redis Cluster)
    /// when joined, else the database.
    pub fn checkpoints(&self) -> Arc<dyn CheckpointStore> {
        match self.mesh() {
            Some(m) => m.checkpoints(),
            None => self.sql_checkpoints.clone(),
        }
    }

    /// The store (for reading standings back).
    pub fn store(&self) -> &LiveStore {
        &self.deps.store
    }

    /// The authenticator (the gateway's one token check).
    pub fn auth(&self) -> &Authenticator {
        &self.auth
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The running session with this code.
    pub fn session(&self, code: &str) -> Option<SessionHandle> {
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .get(code)
            .cloned()
    }

    /// Number of running sessions.
    pub fn running(&self) -> usize {
        self.sessions.lock().expect("live registry poisoned").len()
    }

    /// Creates a session from a quiz for `host` and starts its actor.
    pub async fn create(
        &self,
        host: &Account,
        req: &CreateSession,
    ) -> Result<CreatedSession, CreateError> {
        let rules = req.scoring.unwrap_or_default();
        validate_rules(&rules).map_err(CreateError::Invalid)?;
        let reveal_ms = req.reveal_ms.unwrap_or(5_000);
        if reveal_ms > 60_000 {
            return Err(CreateError::Invalid(
                "reveal_ms must be at most 60000".into(),
            ));
        }
        let top_n = req.top_n.unwrap_or(10);
        if !(1..=100).contains(&top_n) {
            return Err(CreateError::Invalid("top_n must be 1..=100".into()));
        }
        let max_players = req.max_players.unwrap_or(self.policy.max_players);
        if !(1..=self.policy.max_players).contains(&max_players) {
            return Err(CreateError::Invalid(format!(
                "max_players must be 1..={} (LIVE_MAX_PLAYERS_PER_SESSION)",
                self.policy.max_players
            )));
        }
        let join = JoinRules {
            max_players,
            two_step: req.two_step,
            generated_nicknames: req.generated_nicknames,
            nickname_filter: req.nickname_filter,
        };
        let questions: Vec<LiveQuestion> = self
            .deps
            .store
            .quiz(req.quiz_id)
            .await?
            .ok_or(CreateError::QuizNotFound(req.quiz_id))?
            .into_iter()
            .map(LiveQuestion::from)
            .collect();
        if questions.is_empty() {
            return Err(CreateError::Invalid("the quiz has no questions".into()));
        }
        if questions
            .iter()
            .any(|q| q.correct.is_empty() || q.choices.len() < 2)
        {
            return Err(CreateError::Invalid(
                "every question needs 2+ choices and a correct one".into(),
            ));
        }
        let quiz = Arc::new(LiveQuiz {
            quiz_id: req.quiz_id,
            questions,
            rules,
            reveal_ms,
            top_n: top_n as usize,
            hide_text_on_devices: req.show_question_on_devices == Some(false),
        });
        let quota = (self.policy.max_sessions_per_user > 0).then(|| HostQuota {
            max_running: self.policy.max_sessions_per_user,
            // A minute of slack over the lifetime: a session at its end is
            // still finishing.
            since_ms: now_ms() - self.policy.lifetime.max.as_millis() as i64 - 60_000,
        });
        self.launch(quiz, join, host.id, quota).await
    }

    /// Creates a session the server runs without a host (a quick match, see
    /// [`super::engine::hostless`]): `quiz` is the drawn questions (its
    /// `quiz_id` 0: it is no stored quiz), only `hostless.members` may join,
    /// and it starts by itself. No host token is issued (the returned one is
    /// empty, and no connection can attach as the host). A batch of one of
    /// [`LiveService::create_hostless_many`].
    pub async fn create_hostless(
        &self,
        quiz: LiveQuiz,
        hostless: Hostless,
    ) -> Result<CreatedSession, CreateError> {
        self.create_hostless_many(vec![(quiz, hostless)])
            .await
            .pop()
            .unwrap_or(Err(CreateError::Invalid("no session to create".into())))
    }

    /// [`LiveService::create_hostless`] of several sessions at once, the
    /// result of each in the order given: their codes are checked free
    /// together (one read of the parked checkpoints; a Redis claim each, a
    /// few at a time, in cluster mode), their rows recorded in one transaction and their
    /// checkpoints written together (one transaction on the database, one
    /// pipeline per session all in flight in Redis Cluster), then their
    /// actors start. A session that is invalid or finds no free code fails
    /// alone; when the rows or the checkpoints cannot be written, every
    /// session that got that far fails and its code is free again here.
    /// The steps are timed in `live_batch_seconds{step}` (`codes`, `rows`,
    /// `checkpoints`).
    pub async fn create_hostless_many(
        &self,
        matches: Vec<(LiveQuiz, Hostless)>,
    ) -> Vec<Result<CreatedSession, CreateError>> {
        struct Pending {
            at: usize,
            quiz: Arc<LiveQuiz>,
            join: JoinRules,
            hostless: Hostless,
        }
        // Every slot is filled below, each session's failure or its session.
        let mut out: Vec<Option<Result<CreatedSession, CreateError>>> =
            (0..matches.len()).map(|_| None).collect();
        let mut pending = Vec::new();
        let mut last = std::time::Instant::now();
        let mut step = |name: &'static str| {
            let now = std::time::Instant::now();
            metrics::histogram!("live_batch_seconds", "step" => name)
                .record((now - last).as_secs_f64());
            last = now;
        };
        for (at, (quiz, hostless)) in matches.into_iter().enumerate() {
            let checked = validate_rules(&quiz.rules)
                .map_err(CreateError::Invalid)
                .and_then(|()| {
                    if quiz.questions.is_empty() {
                        Err(CreateError::Invalid("a match needs questions".into()))
                    } else {
                        Ok(())
                    }
                });
            if let Err(e) = checked {
                out[at] = Some(Err(e));
                continue;
            }
            let join = JoinRules {
                max_players: hostless.members.len().max(1) as u32,
                ..JoinRules::default()
            };
            pending.push(Pending {
                at,
                quiz: Arc::new(quiz),
                join,
                hostless,
            });
        }
        let codes = self.allocate_codes(pending.len()).await;
        step("codes");
        let mut ready = Vec::with_capacity(pending.len());
        for (p, code) in pending.into_iter().zip(codes) {
            match code {
                Ok(code) => ready.push((p, code)),
                Err(e) => out[p.at] = Some(Err(e)),
            }
        }
        if ready.is_empty() {
            return filled(out);
        }
        let rows: Vec<NewSession<'_>> = ready
            .iter()
            .map(|(p, (code, _, _))| NewSession {
                code,
                quiz_id: p.quiz.quiz_id,
                host_user_id: 0,
                rules: &p.quiz.rules,
            })
            .collect();
        let created = self.deps.store.create_sessions(&rows).await;
        drop(rows);
        step("rows");
        let ids = match created {
            Ok(ids) => ids,
            Err(e) => {
                // Nothing was recorded; the codes' leases (if any) expire by themselves.
                let message = e.to_string();
                let mut first = Some(CreateError::Store(e));
                for (p, (code, _, _)) in &ready {
                    self.forget(code);
                    out[p.at] = Some(Err(first
                        .take()
                        .unwrap_or_else(|| CreateError::Batch(message.clone()))));
                }
                return filled(out);
            }
        };
        let epoch = now_ms();
        let metas: Vec<SessionMeta> = ready
            .iter()
            .zip(ids)
            .map(|((p, (code, _, _)), id)| {
                new_meta(
                    id,
                    code,
                    String::new(),
                    &p.quiz,
                    p.join,
                    Some(&p.hostless),
                    epoch,
                )
            })
            .collect();
        let checkpointed = self.checkpoints().create_many(&metas).await;
        step("checkpoints");
        if let Err(e) = checkpointed {
            let message = e.to_string();
            for (p, (code, _, _)) in &ready {
                self.forget(code);
                out[p.at] = Some(Err(CreateError::Checkpoint(message.clone())));
            }
            return filled(out);
        }
        for ((p, (_, tx, rx)), meta) in ready.into_iter().zip(metas) {
            out[p.at] = Some(Ok(self.start_created(meta, p.quiz, tx, rx)));
        }
        filled(out)
    }

    /// Allocates a code, records the session and starts its actor.
    async fn launch(
        &self,
        quiz: Arc<LiveQuiz>,
        join: JoinRules,
        host_id: i64,
        quota: Option<HostQuota>,
    ) -> Result<CreatedSession, CreateError> {
        let rules = quiz.rules;
        let (code, tx, rx) = self.allocate_code().await?;
        let id = match self
            .deps
            .store
            .create_session(&code, quiz.quiz_id, host_id, &rules, quota)
            .await
        {
            Ok(Some(id)) => id,
            Ok(None) => {
                self.forget(&code);
                if let Some(mesh) = self.mesh() {
                    mesh.release(&code).await;
                }
                metrics::counter!("live_sessions_refused_total", "why" => "per_user").increment(1);
                return Err(CreateError::TooManySessions(
                    self.policy.max_sessions_per_user,
                ));
            }
            Err(e) => {
                // The code's lease (if any) expires by itself.
                self.forget(&code);
                return Err(e.into());
            }
        };
        let meta = new_meta(id, &code, actor::new_token(), &quiz, join, None, now_ms());
        if let Err(e) = self.checkpoints().create(&meta).await {
            self.forget(&code);
            return Err(CreateError::Checkpoint(e.to_string()));
        }
        Ok(self.start_created(meta, quiz, tx, rx))
    }

    /// Starts the actor of a session whose row and checkpoint (`meta`) are
    /// written.
    fn start_created(
        &self,
        meta: SessionMeta,
        quiz: Arc<LiveQuiz>,
        tx: mpsc::Sender<Cmd>,
        rx: mpsc::Receiver<Cmd>,
    ) -> CreatedSession {
        let SessionMeta {
            session_id: id,
            code,
            host_token,
            join,
            created_at: epoch,
            hostless,
            ..
        } = meta;
        let now = self.deps.clock.now();
        let session = Session::new(id, code.clone(), quiz, now, epoch, rand::random())
            .with_join_rules(join, now)
            .with_filter(self.policy.filter.clone())
            .with_lifetime(self.policy.lifetime)
            .with_push_interval(self.policy.tuning.push_interval);
        let session = match &hostless {
            Some(h) => session.with_hostless(h),
            None => session,
        };
        self.spawn(session, host_token.clone(), tx, rx);
        metrics::counter!("live_sessions_created_total").increment(1);
        CreatedSession {
            session_id: id,
            code,
            host_token,
        }
    }

    fn spawn(
        &self,
        session: Session,
        host_token: String,
        tx: mpsc::Sender<Cmd>,
        rx: mpsc::Receiver<Cmd>,
    ) {
        let (id, code) = (session.id, session.code.clone());
        let handle = SessionHandle::new(id, host_token, tx);
        let tenure = Tenure {
            lease: self
                .mesh()
                .map(|mesh| mesh.hold(code.clone(), handle.clone())),
            moved: handle.moved_flag(),
        };
        let life = &self.deps.life;
        let checkpoint = Checkpointer::spawn(
            self.checkpoints(),
            code.clone(),
            self.policy.tuning.checkpoint_batch,
            self.policy.tuning.checkpoint_attempts,
            life,
        );
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .insert(code.clone(), handle);
        let sessions = self.sessions.clone();
        let deps = self.deps.clone();
        life.spawn_session(actor::run(
            session,
            deps,
            rx,
            checkpoint,
            tenure,
            move || {
                sessions
                    .lock()
                    .expect("live registry poisoned")
                    .remove(&code);
            },
        ));
    }

    /// The session with this code if it runs here; otherwise takes it over
    /// from its checkpoint if it has one and no running owner: with Redis
    /// Cluster when its gateway died and the lease expired (the lease is
    /// claimed first), on a single gateway when this process restarted.
    /// Restores the session from the checkpoint and the durable answers
    /// (see [`super::engine::restore`]), has the score mirror (if any) start
    /// over from the recomputed totals, and starts its actor. `None` if there
    /// is no such session, another gateway owns it (or won the race to take
    /// it over), or this gateway is shutting down.
    pub async fn local_or_take_over(&self, code: &str) -> Option<SessionHandle> {
        let _one_at_a_time = self.takeover.lock().await;
        if let Some(h) = self.session(code).filter(SessionHandle::is_running) {
            return Some(h);
        }
        if self.deps.life.is_stopping() {
            return None; // this gateway is handing its sessions over
        }
        let mesh = self.mesh().cloned();
        if let Some(mesh) = &mesh {
            match mesh.claim(code).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, code, "live takeover: claim failed");
                    return None;
                }
            }
        }
        let restored = self.restore(code).await;
        if let Err(e) = &restored {
            tracing::error!(error = %e, code, "live takeover failed");
        }
        match (restored, mesh) {
            (Ok(Some(handle)), _) => Some(handle),
            (_, Some(mesh)) => {
                mesh.release(code).await;
                None
            }
            (_, None) => None,
        }
    }

    async fn restore(&self, code: &str) -> anyhow::Result<Option<SessionHandle>> {
        let Some(saved) = self.checkpoints().load(code).await? else {
            return Ok(None);
        };
        let id = saved.meta.session_id;
        if saved.phase.phase == PhaseRecord::Finished
            && !self.deps.store.standings(id).await?.is_empty()
        {
            return Ok(None); // finished and stored; only the cleanup was lost
        }
        let answers: Vec<AnswerRecord> = self
            .deps
            .store
            .answers(id)
            .await?
            .into_iter()
            .map(|a| AnswerRecord {
                question: a.question,
                player: a.player,
                choices: a.choices,
                correct: a.correct,
                points: a.points,
                answered_at: a.answered_at,
            })
            .collect();
        let host_token = saved.meta.host_token.clone();
        let epoch = now_ms();
        let (session, writes) = Session::restore(
            saved.meta,
            saved.players,
            saved.phase,
            &answers,
            self.deps.clock.now(),
            epoch,
            rand::random(),
        );
        let session = session
            .with_filter(self.policy.filter.clone())
            .with_lifetime(self.policy.lifetime)
            .with_push_interval(self.policy.tuning.push_interval);
        // The mirror still has the old owner's totals: it starts over.
        if let Some(mirror) = &self.deps.mirror {
            mirror.send(id, Change::Reset(writes));
        }
        let (tx, rx) = mpsc::channel(self.policy.tuning.cmd_queue);
        let players = session.roster.len();
        self.spawn(session, host_token, tx, rx);
        tracing::info!(code, session = id, players, "live session taken over");
        metrics::counter!("live_sessions_taken_over_total").increment(1);
        Ok(self.session(code))
    }
}

/// The results of a batch, every slot of which was filled.
fn filled(
    out: Vec<Option<Result<CreatedSession, CreateError>>>,
) -> Vec<Result<CreatedSession, CreateError>> {
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(CreateError::Invalid("not created".into()))))
        .collect()
}

/// The checkpointed fixed part of a new session.
fn new_meta(
    session_id: i64,
    code: &str,
    host_token: String,
    quiz: &LiveQuiz,
    join: JoinRules,
    hostless: Option<&Hostless>,
    created_at: i64,
) -> SessionMeta {
    SessionMeta {
        session_id,
        code: code.to_string(),
        host_token,
        quiz: quiz.clone(),
        join,
        created_at,
        hostless: hostless.cloned(),
    }
}

impl LocalSessions for LiveService {
    fn local_or_take_over<'a>(&'a self, code: &'a str) -> MeshFuture<'a, Option<SessionHandle>> {
        Box::pin(LiveService::local_or_take_over(self, code))
    }

    fn next_conn_id(&self) -> u64 {
        LiveService::next_conn_id(self)
    }
}
