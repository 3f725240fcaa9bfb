//! Tests of the per-session options and host accommodations: per-player
//! extra time, accuracy-only scoring, percentiles, texts hidden on devices,
//! the host's roster snapshot, and all of them across a restore.

use std::sync::Arc;
use std::time::Duration;

use crate::testing::{advance, now, SEED};
use livequiz_sdk::live::{ErrorCode, Phase, QuestionView, RosterEntry, ScoringRules, ServerMsg};

use crate::effects::{Effect, PendingAnswer, ScoreWrite, Target};
use crate::quiz::{LiveQuestion, LiveQuiz};
use crate::restore::{PhaseCheckpoint, PlayerRecord, SessionMeta};
use crate::scoring::speed_points;
use crate::session::Session;

/// Server time (ms) of the sessions' creation.
const EPOCH: i64 = 1_000_000;

fn quiz(hide: bool, rules: ScoringRules) -> Arc<LiveQuiz> {
    let questions = (0..3)
        .map(|i| LiveQuestion {
            question_id: 100 + i,
            text: format!("question {i}?"),
            choices: vec!["red".into(), "green".into(), "blue".into()],
            correct: vec![1],
            time_limit_ms: 10_000,
        })
        .collect();
    Arc::new(LiveQuiz {
        quiz_id: 1,
        questions,
        rules,
        reveal_ms: 3_000,
        top_n: 10,
        hide_text_on_devices: hide,
    })
}

fn session_with(hide: bool, rules: ScoringRules) -> Session {
    Session::new(7, "123456".into(), quiz(hide, rules), now(), EPOCH, SEED)
}

fn session() -> Session {
    session_with(false, ScoringRules::default())
}

fn join(s: &mut Session, nick: &str) -> u64 {
    let id = s.join(now(), nick, None, format!("t-{nick}")).unwrap();
    s.attach(now(), id);
    id
}

fn answer(s: &mut Session, p: u64, q: u32) -> Result<PendingAnswer, ErrorCode> {
    s.answer(now(), p, q, &[1], None)
}

/// The question frames of a question's opening: the host's, the shared
/// one of the players, and the personal ones.
struct Opening {
    host: QuestionView,
    shared: QuestionView,
    personal: Vec<(u64, QuestionView)>,
}

fn opening(effects: &[Effect]) -> Opening {
    let mut host = None;
    let mut shared = None;
    let mut personal = Vec::new();
    for e in effects {
        match e {
            Effect::Send(Target::All, ServerMsg::Question(q)) => {
                host = Some(q.clone());
                shared = Some(q.clone());
            }
            Effect::Send(Target::Host, ServerMsg::Question(q)) => host = Some(q.clone()),
            Effect::SendPlayers {
                shared: ServerMsg::Question(q),
                personal: own,
            } => {
                shared = Some(q.clone());
                for (id, m) in own {
                    let ServerMsg::Question(v) = m else {
                        panic!("not a question: {m:?}");
                    };
                    personal.push((*id, v.clone()));
                }
            }
            _ => {}
        }
    }
    Opening {
        host: host.expect("the host's question frame"),
        shared: shared.expect("the players' question frame"),
        personal,
    }
}

fn host_frames(effects: &[Effect]) -> Vec<&ServerMsg> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Target::Host, m) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
fn extra_time_is_validated_and_confirmed_to_the_host() {
    let mut s = session();
    let ann = join(&mut s, "ann");
    s.take_effects();
    for bad in [0, 99, 301, 1_000] {
        assert_eq!(s.set_extra_time(ann, bad), Err(ErrorCode::BadExtraTime));
    }
    assert_eq!(s.set_extra_time(99, 150), Err(ErrorCode::UnknownPlayer));
    assert!(s.take_effects().is_empty(), "a refusal changes nothing");
    assert_eq!(s.roster.get(ann).unwrap().extra_time_percent, 100);

    let record = s.set_extra_time(ann, 150).unwrap();
    assert_eq!((record.id, record.extra_time_percent), (ann, 150));
    let fx = s.take_effects();
    assert!(
        matches!(
            &host_frames(&fx)[..],
            [ServerMsg::Roster { player_id, event, extra_time_percent: Some(150), .. }]
                if *player_id == ann && event == "extra_time"
        ),
        "{fx:?}"
    );
    assert_eq!(s.welcome(now(), Some(ann)).extra_time_percent, Some(150));
    // Back to none.
    s.set_extra_time(ann, 100).unwrap();
    assert_eq!(s.roster.get(ann).unwrap().extra_time_percent, 100);
}

#[test]
fn a_player_with_extra_time_answers_until_their_own_deadline_for_full_speed_points() {
    let mut s = session();
    let ann = join(&mut s, "ann");
    let bob = join(&mut s, "bob");
    s.set_extra_time(ann, 200).unwrap();
    s.take_effects();
    let t0 = now();
    s.start(t0).unwrap();
    let open = opening(&s.take_effects());
    // The host: full view, plus how long the room may wait.
    assert_eq!(open.host.deadline, EPOCH + 10_000);
    assert_eq!(open.host.latest_deadline, Some(EPOCH + 20_000));
    // bob: the shared frame, unchanged; ann: her own.
    assert_eq!(open.shared.deadline, EPOCH + 10_000);
    assert_eq!(open.shared.time_limit_ms, 10_000);
    assert_eq!(open.shared.extra_time_percent, None);
    assert_eq!(open.shared.latest_deadline, None);
    assert_eq!(open.personal.len(), 1);
    let (id, mine) = &open.personal[0];
    assert_eq!(*id, ann);
    assert_eq!(
        (mine.deadline, mine.time_limit_ms, mine.extra_time_percent),
        (EPOCH + 20_000, 20_000, Some(200))
    );
    assert_eq!(mine.text, "question 0?");

    // At bob's deadline his answer is late; the question stays open for ann.
    advance(Duration::from_millis(10_000));
    assert_eq!(answer(&mut s, bob, 0), Err(ErrorCode::TooLate));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    s.push(now()); // nothing else due
    assert_eq!(s.next_wakeup(), Some(t0 + Duration::from_millis(20_000)));
    // ann's resumed welcome shows her own deadline.
    let w = s.welcome(now(), Some(ann));
    assert_eq!(w.question.map(|q| q.deadline), Some(EPOCH + 20_000));

    // ann answers at 15 s: half her limit is 10 s in, so 15 s is 75% of it
    // (625 points), where bob's limit would have paid the 500 minimum.
    advance(Duration::from_millis(5_000));
    let a = answer(&mut s, ann, 0).unwrap();
    assert_eq!(
        a.points,
        speed_points(&ScoringRules::default(), 15_000, 20_000)
    );
    assert_eq!(a.points, 625);
    assert_eq!(a.elapsed_ms, 15_000);
    // Nobody else can still answer: the question closes once hers is durable.
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    s.commit(now(), vec![a]);
    assert_eq!(s.phase(), Phase::Reveal);
}

#[test]
fn the_question_closes_when_the_latest_personal_deadline_passes() {
    let mut s = session();
    let ann = join(&mut s, "ann");
    let _bob = join(&mut s, "bob");
    let cy = join(&mut s, "cy");
    s.set_extra_time(ann, 150).unwrap();
    s.set_extra_time(cy, 300).unwrap();
    let t0 = now();
    s.start(t0).unwrap();
    let open = opening(&s.take_effects());
    assert_eq!(open.host.latest_deadline, Some(EPOCH + 30_000));
    // Nobody answers. At 10 s and at 15 s (ann's deadline) it stays open for cy.
    advance(Duration::from_millis(10_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    advance(Duration::from_millis(5_000));
    assert_eq!(answer(&mut s, ann, 0), Err(ErrorCode::TooLate));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    s.push(now()); // nothing else due
    assert_eq!(s.next_wakeup(), Some(t0 + Duration::from_millis(30_000)));
    advance(Duration::from_millis(15_000));
    s.tick(now());
    assert_eq!(
        s.phase(),
        Phase::Reveal,
        "cy's deadline, the latest, passed"
    );

    // Next question: cy leaves the session (removed) while it waits for her.
    s.skip(now()).unwrap();
    let t1 = now();
    advance(Duration::from_millis(16_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    s.remove(now(), cy).unwrap();
    assert_eq!(s.next_wakeup().map(|w| w <= now()), Some(true));
    s.tick(now());
    assert_eq!(
        s.phase(),
        Phase::Reveal,
        "only players still in the session hold it"
    );
    assert!(t1 + Duration::from_millis(16_000) <= now());
}

#[test]
fn the_room_does_not_wait_for_an_accommodated_player_who_answered() {
    let mut s = session();
    let ann = join(&mut s, "ann");
    let _bob = join(&mut s, "bob");
    s.set_extra_time(ann, 200).unwrap();
    s.start(now()).unwrap();
    let a = answer(&mut s, ann, 0).unwrap();
    s.commit(now(), vec![a]);
    // bob has not answered: the question's own deadline closes it.
    advance(Duration::from_millis(10_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Reveal);
}

#[test]
fn extra_time_changed_during_a_question_applies_from_the_next_one() {
    let mut s = session();
    let _ann = join(&mut s, "ann");
    let bob = join(&mut s, "bob");
    s.start(now()).unwrap();
    s.take_effects();
    s.set_extra_time(bob, 200).unwrap();
    // Question 0 keeps bob's original limit.
    let w = s.welcome(now(), Some(bob));
    assert_eq!(w.question.map(|q| q.deadline), Some(EPOCH + 10_000));
    assert_eq!(w.extra_time_percent, Some(200));
    advance(Duration::from_millis(10_000));
    assert_eq!(answer(&mut s, bob, 0), Err(ErrorCode::TooLate));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Reveal);
    s.take_effects();
    // Question 1 opens with it.
    s.skip(now()).unwrap();
    let open = opening(&s.take_effects());
    let opened = open.host.opened_at;
    assert_eq!(open.personal.len(), 1);
    assert_eq!(open.personal[0].0, bob);
    assert_eq!(open.personal[0].1.deadline, opened + 20_000);
    assert_eq!(open.shared.deadline, opened + 10_000);
}

#[test]
fn accuracy_only_sessions_pay_full_points_at_any_speed() {
    let rules = ScoringRules {
        speed: false,
        ..ScoringRules::default()
    };
    let mut s = session_with(false, rules);
    let ann = join(&mut s, "ann");
    s.start(now()).unwrap();
    advance(Duration::from_millis(9_500));
    let a = answer(&mut s, ann, 0).unwrap();
    assert_eq!(a.points, 1000);
    s.commit(now(), vec![a]);
    s.skip(now()).unwrap();
    advance(Duration::from_millis(7_000));
    // The streak bonus still follows its own setting.
    let b = answer(&mut s, ann, 1).unwrap();
    assert_eq!(b.points, 1000 + 100);
}

#[test]
fn rank_frames_carry_the_percentile_with_ties() {
    let mut s = session();
    let ids: Vec<u64> = ["ann", "bob", "cy", "dan"]
        .iter()
        .map(|n| join(&mut s, n))
        .collect();
    let scores = [300, 200, 200, 0];
    let writes: Vec<ScoreWrite> = ids
        .iter()
        .zip(&scores)
        .map(|(&player, &delta)| ScoreWrite {
            player,
            delta,
            op_key: format!("test:{player}"),
            at: EPOCH,
        })
        .collect();
    s.ranks.apply(&writes);
    s.take_effects();
    s.push(now());
    let fx = s.take_effects();
    let got: Vec<(u64, u32)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Target::Player(p), ServerMsg::Rank { percentile, .. }) => {
                Some((*p, *percentile))
            }
            _ => None,
        })
        .collect();
    // Ahead of all 3 others; of 1 of 3 (the tie counts as not ahead); of none.
    assert_eq!(
        got,
        vec![(ids[0], 100), (ids[1], 33), (ids[2], 33), (ids[3], 0)]
    );
    // Final standings carry it too (the host's has none).
    s.end(now()).unwrap();
    s.take_effects();
    s.finished_frames();
    let fx = s.take_effects();
    let finished: Vec<(Target, Option<u32>)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Send(t, ServerMsg::Finished { percentile, .. }) => Some((*t, *percentile)),
            _ => None,
        })
        .collect();
    assert_eq!(
        finished,
        vec![
            (Target::Player(ids[0]), Some(100)),
            (Target::Player(ids[1]), Some(33)),
            (Target::Player(ids[2]), Some(33)),
            (Target::Player(ids[3]), Some(0)),
            (Target::Host, None),
        ]
    );
}

#[test]
fn a_single_player_is_at_the_100th_percentile() {
    let mut s = session();
    join(&mut s, "ann");
    s.take_effects();
    s.push(now());
    let fx = s.take_effects();
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Send(
                Target::Player(_),
                ServerMsg::Rank {
                    percentile: 100,
                    players: 1,
                    ..
                }
            )
        )),
        "{fx:?}"
    );
}

#[test]
fn hidden_sessions_send_players_no_texts_and_the_host_everything() {
    let mut s = session_with(true, ScoringRules::default());
    let ann = join(&mut s, "ann");
    let bob = join(&mut s, "bob");
    s.set_extra_time(bob, 150).unwrap();
    s.take_effects();
    s.start(now()).unwrap();
    let open = opening(&s.take_effects());
    assert_eq!(open.host.text, "question 0?");
    assert!(!open.host.hidden);
    assert_eq!(open.host.choices[1].text, "green");
    for v in std::iter::once(&open.shared).chain(open.personal.iter().map(|(_, v)| v)) {
        assert!(v.hidden);
        assert_eq!(v.text, "");
        assert_eq!(v.choices.len(), 3);
        assert!(v.choices.iter().all(|c| c.text.is_empty()));
        assert_eq!(
            v.choices.iter().map(|c| c.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }
    assert_eq!(open.personal[0].0, bob);
    // A resumed player's welcome hides them too; the host's does not.
    let w = s.welcome(now(), Some(ann)).question.unwrap();
    assert!(w.hidden && w.text.is_empty());
    let h = s.welcome(now(), None).question.unwrap();
    assert!(!h.hidden && h.text == "question 0?");
    // Answers by index work as ever.
    assert!(answer(&mut s, ann, 0).is_ok());
}

#[test]
fn a_session_showing_texts_sends_one_frame_to_everyone() {
    let mut s = session();
    join(&mut s, "ann");
    s.take_effects();
    s.start(now()).unwrap();
    let fx = s.take_effects();
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Send(Target::All, ServerMsg::Question(q)) if !q.hidden && q.latest_deadline.is_none()
        )),
        "{fx:?}"
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::SendPlayers { .. })));
}

#[test]
fn the_host_welcome_carries_the_roster_counts_lock_and_cap() {
    let mut s = session();
    let ann = join(&mut s, "ann");
    let bob = join(&mut s, "bob");
    s.set_extra_time(bob, 200).unwrap();
    s.detach(bob);
    s.set_locked(true).unwrap();
    let w = s.welcome(now(), None);
    assert_eq!(
        w.roster,
        Some(vec![
            RosterEntry {
                player_id: ann,
                nickname: "ann".into(),
                connected: true,
                extra_time_percent: 100,
            },
            RosterEntry {
                player_id: bob,
                nickname: "bob".into(),
                connected: false,
                extra_time_percent: 200,
            },
        ])
    );
    assert!(w.locked);
    assert_eq!(w.max_players, crate::guard::DEFAULT_MAX_PLAYERS);
    assert_eq!(w.answer_counts, None, "no question open");
    assert_eq!(w.extra_time_percent, None);
    // A player's welcome has the cap and their percent, never the roster.
    let p = s.welcome(now(), Some(bob));
    assert_eq!(p.roster, None);
    assert_eq!(p.answer_counts, None);
    assert_eq!(p.max_players, crate::guard::DEFAULT_MAX_PLAYERS);
    assert_eq!(p.extra_time_percent, Some(200));
    let json = serde_json::to_string(&ServerMsg::Welcome(p)).unwrap();
    assert!(
        !json.contains("roster") && !json.contains("\"ann\""),
        "{json}"
    );

    s.start(now()).unwrap();
    let a = answer(&mut s, ann, 0).unwrap();
    let w = s.welcome(now(), None);
    let counts = w.answer_counts.expect("counts of the open question");
    assert_eq!(
        (counts.question, counts.answered, counts.players),
        (0, 0, 2)
    );
    s.commit(now(), vec![a]);
    let counts = s.welcome(now(), None).answer_counts.unwrap();
    assert_eq!((counts.answered, counts.counts), (1, vec![0, 1, 0]));
}

/// What another gateway reads back: the checkpoints as JSON.
fn through_json<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

#[test]
fn a_restore_keeps_extra_time_and_the_session_options() {
    let rules = ScoringRules {
        speed: false,
        ..ScoringRules::default()
    };
    let quiz = quiz(true, rules);
    let mut s = Session::new(7, "123456".into(), quiz.clone(), now(), EPOCH, SEED);
    let ann = join(&mut s, "ann");
    let bob = join(&mut s, "bob");
    s.set_extra_time(ann, 200).unwrap();
    s.start(now()).unwrap();
    // Changed while question 0 is open: for question 1 on.
    s.set_extra_time(ann, 150).unwrap();
    s.set_extra_time(bob, 300).unwrap();
    let meta = through_json(&SessionMeta {
        session_id: s.id,
        code: s.code.clone(),
        host_token: "host".into(),
        quiz: (*quiz).clone(),
        join: s.join_rules(),
        created_at: EPOCH,
        hostless: None,
    });
    let players: Vec<PlayerRecord> = [ann, bob]
        .iter()
        .filter_map(|&id| s.player_record(id, EPOCH))
        .map(|r| through_json(&r))
        .collect();
    let phase: PhaseCheckpoint = through_json(&s.phase_checkpoint());
    advance(Duration::from_millis(12_000));
    let t = now();
    let (mut r, _) = Session::restore(meta, players, phase, &[], t, EPOCH + 12_000, SEED);
    assert_eq!(r.roster.get(ann).unwrap().extra_time_percent, 150);
    assert_eq!(r.roster.get(bob).unwrap().extra_time_percent, 300);
    // Question 0 keeps the extra time it opened with: ann's 20 s, bob's 10 s.
    assert_eq!(r.phase(), Phase::Question);
    let w = r.welcome(t, Some(ann));
    let q = w.question.unwrap();
    assert_eq!((q.deadline, q.hidden), (EPOCH + 20_000, true));
    assert_eq!(w.extra_time_percent, Some(150));
    assert_eq!(r.answer(t, bob, 0, &[1], None), Err(ErrorCode::TooLate));
    let a = r.answer(t, ann, 0, &[1], None).unwrap();
    assert_eq!(a.points, 1000, "accuracy-only survives the restore");
    let host = r.welcome(t, None);
    assert_eq!(host.question.unwrap().latest_deadline, Some(EPOCH + 20_000));
    let roster = host.roster.unwrap();
    assert_eq!(
        roster
            .iter()
            .map(|e| (e.player_id, e.extra_time_percent))
            .collect::<Vec<_>>(),
        vec![(ann, 150), (bob, 300)]
    );
    // Question 1 opens with the new values, texts still hidden.
    r.commit(t, vec![a]);
    r.tick(t);
    assert_eq!(r.phase(), Phase::Reveal);
    r.take_effects();
    r.skip(t).unwrap();
    let open = opening(&r.take_effects());
    let opened = open.host.opened_at;
    let mine: Vec<(u64, i64, bool)> = open
        .personal
        .iter()
        .map(|(id, v)| (*id, v.deadline - opened, v.hidden))
        .collect();
    assert_eq!(mine, vec![(ann, 15_000, true), (bob, 30_000, true)]);
    assert!(open.shared.hidden);
    assert!(!open.host.hidden);
}

#[test]
fn checkpoints_from_before_these_options_read_with_defaults() {
    let player: PlayerRecord = serde_json::from_str(
        r#"{"id":1,"nickname":"ann","account_id":null,"resume_token":"t","joined_at":5}"#,
    )
    .unwrap();
    assert_eq!(player.extra_time_percent, 100);
    assert!(!serde_json::to_string(&player)
        .unwrap()
        .contains("extra_time"));
    let phase: PhaseCheckpoint = serde_json::from_str(
        r#"{"phase":"question","index":1,"opened_at":9,"closing":false,"end_requested":false}"#,
    )
    .unwrap();
    assert!(matches!(
        phase.phase,
        crate::restore::PhaseRecord::Question { ref extra_time, .. } if extra_time.is_empty()
    ));
    let quiz: LiveQuiz = serde_json::from_str(
        r#"{"quiz_id":1,"questions":[],"rules":{"max_points":1000,"full_points_ms":500,
            "streak":true,"streak_step":100,"streak_cap":500},"reveal_ms":5000,"top_n":10}"#,
    )
    .unwrap();
    assert!(!quiz.hide_text_on_devices);
    assert!(quiz.rules.speed);
}
