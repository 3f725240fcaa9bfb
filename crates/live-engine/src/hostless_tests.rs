//! Host-less sessions (quick matches): members only, a start by themselves
//! when everyone is connected or at the countdown's end, an end when nobody
//! came, and the settings through a restore. Time is passed in.

use std::sync::Arc;
use std::time::Duration;

use livequiz_sdk::live::{ErrorCode, FinishReason, Phase, ScoringRules};

use crate::hostless::Hostless;
use crate::quiz::{LiveQuestion, LiveQuiz};
use crate::restore::SessionMeta;
use crate::session::Session;
use crate::testing::{advance, now, SEED};

const EPOCH: i64 = 1_000_000;

fn quiz() -> Arc<LiveQuiz> {
    Arc::new(LiveQuiz {
        quiz_id: 0,
        questions: vec![LiveQuestion {
            question_id: 1,
            text: "q".into(),
            choices: vec!["a".into(), "b".into()],
            correct: vec![1],
            time_limit_ms: 10_000,
        }],
        rules: ScoringRules::default(),
        reveal_ms: 1_000,
        top_n: 10,
        hide_text_on_devices: false,
    })
}

fn hostless() -> Hostless {
    Hostless {
        members: vec![10, 20],
        start_by: EPOCH + 5_000,
        ghost: None,
    }
}

fn session() -> Session {
    Session::new(7, "123456".into(), quiz(), now(), EPOCH, SEED).with_hostless(&hostless())
}

/// Runs the timers due now (as the driver does at `next_wakeup`).
fn run_due(s: &mut Session) {
    while s.next_wakeup().is_some_and(|w| w <= now()) && s.phase() == Phase::Lobby {
        s.tick(now());
        s.push(now());
    }
}

#[test]
fn only_members_join_with_their_account() {
    let mut s = session();
    assert!(s.is_hostless());
    assert_eq!(
        s.join(now(), "eve", None, "t-eve".into()),
        Err(ErrorCode::NotInMatch)
    );
    assert_eq!(
        s.join(now(), "eve", Some(99), "t-eve".into()),
        Err(ErrorCode::NotInMatch)
    );
    assert!(s.join(now(), "ann", Some(10), "t-ann".into()).is_ok());
}

#[test]
fn starts_once_every_member_is_connected() {
    let mut s = session();
    let ann = s.join(now(), "ann", Some(10), "t-ann".into()).unwrap();
    s.attach(now(), ann);
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Lobby, "one member still missing");
    let bob = s.join(now(), "bob", Some(20), "t-bob".into()).unwrap();
    s.attach(now(), bob);
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Question);
}

#[test]
fn starts_at_the_countdown_with_who_came_or_ends_when_nobody_did() {
    let mut s = session();
    let ann = s.join(now(), "ann", Some(10), "t-ann".into()).unwrap();
    s.attach(now(), ann);
    advance(Duration::from_millis(4_999));
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Lobby);
    advance(Duration::from_millis(1));
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Question);
    assert_eq!(s.connected_accounts(), vec![10]);

    let mut empty = session();
    advance(Duration::from_secs(5));
    run_due(&mut empty);
    assert_eq!(empty.phase(), Phase::Finished);
    assert_eq!(empty.finish_reason(), Some(FinishReason::LobbyIdle));
}

#[test]
fn a_restored_session_stays_hostless() {
    let s = session();
    let meta = SessionMeta {
        session_id: s.id,
        code: s.code.clone(),
        host_token: String::new(),
        quiz: (*quiz()).clone(),
        join: s.join_rules(),
        created_at: EPOCH,
        hostless: Some(hostless()),
    };
    let json = serde_json::to_string(&meta).unwrap();
    let meta: SessionMeta = serde_json::from_str(&json).unwrap();
    advance(Duration::from_secs(1));
    let (mut r, _) = Session::restore(
        meta,
        vec![],
        s.phase_checkpoint(),
        &[],
        now(),
        EPOCH + 1_000,
        SEED,
    );
    assert!(r.is_hostless());
    assert_eq!(
        r.join(now(), "eve", None, "t-eve".into()),
        Err(ErrorCode::NotInMatch)
    );
    // The countdown keeps its original end: 4 s after the takeover.
    let ann = r.join(now(), "ann", Some(10), "t-ann".into()).unwrap();
    r.attach(now(), ann);
    advance(Duration::from_millis(3_999));
    run_due(&mut r);
    assert_eq!(r.phase(), Phase::Lobby);
    advance(Duration::from_millis(1));
    run_due(&mut r);
    assert_eq!(r.phase(), Phase::Question);
}

#[test]
fn a_ghost_answers_at_its_recorded_time_and_is_scored_as_anyone() {
    use crate::hostless::{Ghost, GhostAnswer};
    let h = Hostless {
        ghost: Some(Ghost {
            account_id: 20,
            nickname: "gus".into(),
            answers: vec![Some(GhostAnswer {
                choices: vec![1],
                after_ms: 3_000,
            })],
        }),
        ..hostless()
    };
    let mut s = Session::new(7, "123456".into(), quiz(), now(), EPOCH, SEED).with_hostless(&h);
    let ghost = s.roster.by_account(20).expect("the ghost is seated");
    let ann = s.join(now(), "ann", Some(10), "t-ann".into()).unwrap();
    s.attach(now(), ann);
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Question, "the ghost counts as connected");
    let opened = now();
    // Nothing from the ghost before its time; its answer is due at +3 s.
    advance(Duration::from_millis(2_999));
    s.tick(now());
    let crate::session::State::Question(o) = &s.state else {
        panic!("open")
    };
    assert!(!o.answers.contains_key(&ghost));
    assert_eq!(
        s.hostless_wakeup()
            .map(|w| w.saturating_duration_since(opened)),
        Some(Duration::from_millis(3_000)),
        "the driver is woken for it"
    );
    advance(Duration::from_millis(1));
    s.tick(now());
    let crate::session::State::Question(o) = &s.state else {
        panic!("open")
    };
    assert!(o.answers.contains_key(&ghost), "given at +3 s");
    // The live player answers too: both in, the question closes.
    let p = s.answer(now(), ann, 0, &[0], None).unwrap();
    s.commit(now(), vec![p]);
    assert_eq!(s.phase(), Phase::Reveal);
    let want = crate::scoring::score_answer(&ScoringRules::default(), true, 3_000, 10_000, 0);
    assert_eq!(s.score(ghost), Some(i64::from(want.points)));
    assert_eq!(s.score(ann), Some(0));
}

#[test]
fn a_ghost_alone_does_not_start_a_match() {
    use crate::hostless::Ghost;
    let h = Hostless {
        ghost: Some(Ghost {
            account_id: 20,
            nickname: "gus".into(),
            answers: vec![None],
        }),
        ..hostless()
    };
    let mut s = Session::new(7, "123456".into(), quiz(), now(), EPOCH, SEED).with_hostless(&h);
    advance(Duration::from_millis(5_000));
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Finished);
}

/// A ghost duel taken over by another gateway: the ghost's answers are not in
/// the answer log, yet the restored session has its points and streak of the
/// closed questions (re-derived from the recording) and it ends with the same
/// total as without the takeover; a takeover while a question is open gives
/// the ghost's answer again at its recorded time.
#[test]
fn a_restored_ghost_keeps_its_points_and_streak() {
    use crate::hostless::{Ghost, GhostAnswer};
    use crate::scoring::score_answer;
    let q = |id: i64| LiveQuestion {
        question_id: id,
        text: "q".into(),
        choices: vec!["a".into(), "b".into()],
        correct: vec![1],
        time_limit_ms: 10_000,
    };
    let quiz = LiveQuiz {
        questions: vec![q(1), q(2), q(3)],
        ..(*quiz()).clone()
    };
    let right = |after_ms| {
        Some(GhostAnswer {
            choices: vec![1],
            after_ms,
        })
    };
    let h = Hostless {
        ghost: Some(Ghost {
            account_id: 20,
            nickname: "gus".into(),
            answers: vec![right(3_000), right(2_000), right(1_000)],
        }),
        ..hostless()
    };
    let rules = ScoringRules::default();
    let p0 = score_answer(&rules, true, 3_000, 10_000, 0);
    let p1 = score_answer(&rules, true, 2_000, 10_000, p0.streak);
    let p2 = score_answer(&rules, true, 1_000, 10_000, p1.streak);
    let restore = |s: &Session, durable: &[crate::PendingAnswer]| {
        let meta = SessionMeta {
            session_id: s.id,
            code: s.code.clone(),
            host_token: String::new(),
            quiz: quiz.clone(),
            join: s.join_rules(),
            created_at: EPOCH,
            hostless: Some(h.clone()),
        };
        let players = s
            .roster
            .ids()
            .into_iter()
            .filter_map(|id| s.player_record(id, EPOCH))
            .filter(|r| r.account_id == Some(10))
            .collect();
        let answers: Vec<_> = durable
            .iter()
            .map(|a| crate::restore::AnswerRecord {
                question: a.question,
                player: a.player,
                choices: a.choices.clone(),
                correct: a.correct,
                points: a.points,
                answered_at: a.answered_at,
            })
            .collect();
        Session::restore(
            meta,
            players,
            s.phase_checkpoint(),
            &answers,
            now(),
            s.epoch(now()),
            SEED,
        )
    };

    let mut s = Session::new(
        7,
        "123456".into(),
        Arc::new(quiz.clone()),
        now(),
        EPOCH,
        SEED,
    )
    .with_hostless(&h);
    let ghost = s.roster.by_account(20).expect("the ghost is seated");
    let ann = s.join(now(), "ann", Some(10), "t-ann".into()).unwrap();
    s.attach(now(), ann);
    run_due(&mut s);
    assert_eq!(s.phase(), Phase::Question);
    advance(Duration::from_millis(3_000));
    s.tick(now());
    let a0 = s.answer(now(), ann, 0, &[0], None).unwrap();
    s.commit(now(), vec![a0.clone()]);
    assert_eq!(s.phase(), Phase::Reveal);
    assert_eq!(s.score(ghost), Some(i64::from(p0.points)));

    // Taken over during the reveal of question 0.
    let (mut r, writes) = restore(&s, std::slice::from_ref(&a0));
    assert_eq!(r.roster.by_account(20), Some(ghost), "the same seat");
    assert_eq!(r.score(ghost), Some(i64::from(p0.points)), "not from 0");
    assert!(writes
        .iter()
        .any(|w| w.player == ghost && w.delta == i64::from(p0.points)));
    r.attach(now(), ann);
    advance(Duration::from_millis(1_000));
    r.tick(now());
    assert_eq!(r.phase(), Phase::Question);
    advance(Duration::from_millis(2_000));
    r.tick(now());
    let a1 = r.answer(now(), ann, 1, &[0], None).unwrap();
    r.commit(now(), vec![a1.clone()]);
    assert_eq!(r.phase(), Phase::Reveal);
    // The streak came back too: question 1 pays the ghost's second in a row.
    assert_eq!(r.score(ghost), Some(i64::from(p0.points + p1.points)));

    // Taken over again, with question 2 open and the ghost's answer given
    // (held until the question closes): given again at its recorded time.
    r.attach(now(), ann);
    advance(Duration::from_millis(1_000));
    r.tick(now());
    assert_eq!(r.phase(), Phase::Question);
    advance(Duration::from_millis(1_500));
    r.tick(now());
    let (mut t, _) = restore(&r, &[a0, a1]);
    assert_eq!(t.score(ghost), Some(i64::from(p0.points + p1.points)));
    t.attach(now(), ann);
    t.tick(now());
    let a2 = t.answer(now(), ann, 2, &[0], None).unwrap();
    t.commit(now(), vec![a2]);
    assert_eq!(t.phase(), Phase::Reveal);
    assert_eq!(
        t.score(ghost),
        Some(i64::from(p0.points + p1.points + p2.points)),
        "the recorded total"
    );
}
