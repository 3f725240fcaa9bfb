//! State machine tests with paused time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sdk::live::{close, ErrorCode, Phase, ScoringRules, ServerMsg};
use tokio::time::Instant;

use super::effects::{Effect, PendingAnswer, Target};
use super::push::{slots_per_push, BoardRank, PLAYERS_PER_PUSH, SLOTS};
use super::quiz::{LiveQuestion, LiveQuiz};
use super::session::Session;

fn quiz(n: usize) -> Arc<LiveQuiz> {
    let questions = (0..n)
        .map(|i| LiveQuestion {
            question_id: 100 + i as i64,
            text: format!("q{i}"),
            choices: vec!["a".into(), "b".into(), "c".into()],
            correct: vec![1],
            time_limit_ms: 10_000,
        })
        .collect();
    Arc::new(LiveQuiz {
        quiz_id: 1,
        questions,
        rules: ScoringRules::default(),
        reveal_ms: 3_000,
        top_n: 10,
        hide_text_on_devices: false,
    })
}

fn session(n: usize) -> Session {
    Session::new(7, "123456".into(), quiz(n), Instant::now(), 1_000_000)
}

fn sends(effects: &[Effect]) -> Vec<(Target, &ServerMsg)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(t, m) => Some((*t, m)),
            _ => None,
        })
        .collect()
}

fn answer(s: &mut Session, p: u64, q: u32, c: &[u32]) -> Result<PendingAnswer, ErrorCode> {
    s.answer(Instant::now(), p, q, c, None)
}

#[tokio::test(start_paused = true)]
async fn a_full_game_scores_by_the_formula_and_streaks() {
    let mut s = session(2);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(Instant::now(), "bob", None, "tb".into()).unwrap();
    s.attach(Instant::now(), ann);
    s.attach(Instant::now(), bob);
    s.take_effects();
    s.start(Instant::now()).unwrap();
    assert_eq!(s.phase(), Phase::Question);
    let fx = s.take_effects();
    assert!(
        matches!(sends(&fx)[0], (Target::All, ServerMsg::Question(q)) if q.index == 0 && q.deadline == 1_010_000)
    );

    // ann answers instantly and right; bob at 5 s, right.
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    assert_eq!(a.points, 1000);
    assert_eq!(
        answer(&mut s, ann, 0, &[1]),
        Err(ErrorCode::AlreadyAnswered)
    );
    tokio::time::advance(Duration::from_millis(5_000)).await;
    let b = answer(&mut s, bob, 0, &[1]).unwrap();
    assert_eq!(b.points, 750);
    s.commit(Instant::now(), vec![a]);
    let fx = s.take_effects();
    assert!(sends(&fx)
        .iter()
        .any(|(t, m)| *t == Target::Player(ann) && matches!(m, ServerMsg::AnswerAck { .. })));
    // The points are held until the question closes.
    assert!(!fx.iter().any(|e| matches!(e, Effect::Score(_))), "{fx:?}");
    assert_eq!(s.roster.get(ann).unwrap().score, 0);
    assert_eq!(
        s.phase(),
        Phase::Question,
        "bob's answer is not durable yet"
    );
    s.commit(Instant::now(), vec![b]);
    // Everyone answered: reveal without waiting for the deadline, and the
    // points of both go to the board together, after the reveal frames.
    assert_eq!(s.phase(), Phase::Reveal);
    let fx = s.take_effects();
    let score_at = fx.iter().position(|e| matches!(e, Effect::Score(_)));
    let reveal_at = fx
        .iter()
        .position(|e| matches!(e, Effect::Send(_, ServerMsg::Reveal { .. })));
    assert!(reveal_at < score_at, "{fx:?}");
    let Some(Effect::Score(writes)) = score_at.map(|i| &fx[i]) else {
        panic!("no score writes at the reveal: {fx:?}");
    };
    let mut writes: Vec<(u64, i64, &str)> = writes
        .iter()
        .map(|w| (w.player, w.delta, w.op_key.as_str()))
        .collect();
    writes.sort_unstable();
    assert_eq!(writes, vec![(ann, 1000, "7:0:1"), (bob, 750, "7:0:2")]);
    let reveal = sends(&fx)
        .into_iter()
        .find_map(|(t, m)| match (t, m) {
            (
                Target::Player(p),
                ServerMsg::Reveal {
                    result: Some(r),
                    correct,
                    counts,
                    ..
                },
            ) if p == bob => Some((*r, correct.clone(), counts.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(reveal.0.points, 750);
    assert_eq!(reveal.1, vec![1]);
    assert_eq!(reveal.2, vec![0, 2, 0]);

    // After the reveal pause, question 2 opens; ann's streak bonus applies.
    tokio::time::advance(Duration::from_millis(3_000)).await;
    s.tick(Instant::now());
    assert_eq!(s.phase(), Phase::Question);
    let a2 = answer(&mut s, ann, 1, &[1]).unwrap();
    assert_eq!(a2.points, 1100);
    let b2 = answer(&mut s, bob, 1, &[0]).unwrap();
    assert_eq!(b2.points, 0);
    s.commit(Instant::now(), vec![a2, b2]);
    assert_eq!(s.roster.get(ann).unwrap().score, 2100);
    assert_eq!(s.roster.get(bob).unwrap().score, 750);
    tokio::time::advance(Duration::from_millis(3_000)).await;
    s.take_effects();
    s.tick(Instant::now());
    assert_eq!(s.phase(), Phase::Finished);
    assert!(s.take_effects().contains(&Effect::Finished));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_is_enforced_and_waits_for_pending_answers() {
    let mut s = session(1);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(Instant::now(), "bob", None, "tb".into()).unwrap();
    assert_eq!(answer(&mut s, ann, 0, &[1]), Err(ErrorCode::NotOpen));
    s.start(Instant::now()).unwrap();
    assert_eq!(s.start(Instant::now()), Err(ErrorCode::WrongPhase));
    assert_eq!(answer(&mut s, ann, 0, &[7]), Err(ErrorCode::BadChoice));
    assert_eq!(answer(&mut s, ann, 1, &[1]), Err(ErrorCode::NotOpen));
    tokio::time::advance(Duration::from_millis(9_999)).await;
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    assert_eq!(a.points, 500);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(answer(&mut s, bob, 0, &[1]), Err(ErrorCode::TooLate));
    assert_eq!(s.next_wakeup().map(|w| w <= Instant::now()), Some(true));
    s.tick(Instant::now());
    assert_eq!(
        s.phase(),
        Phase::Question,
        "the reveal waits for the pending answer"
    );
    s.commit(Instant::now(), vec![a]);
    assert_eq!(s.phase(), Phase::Reveal);
    assert_eq!(answer(&mut s, bob, 0, &[1]), Err(ErrorCode::TooLate));
}

#[tokio::test(start_paused = true)]
async fn host_controls_skip_remove_and_end() {
    let mut s = session(3);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(Instant::now(), "bob", None, "tb".into()).unwrap();
    assert_eq!(s.skip(Instant::now()), Err(ErrorCode::WrongPhase));
    s.start(Instant::now()).unwrap();
    s.skip(Instant::now()).unwrap();
    assert_eq!(s.phase(), Phase::Reveal);
    s.skip(Instant::now()).unwrap();
    assert_eq!(s.phase(), Phase::Question);
    s.take_effects();
    s.remove(Instant::now(), bob).unwrap();
    let fx = s.take_effects();
    assert!(fx.contains(&Effect::Close(Target::Player(bob), close::REMOVED)));
    assert!(fx.contains(&Effect::Unscore(bob)));
    assert_eq!(s.remove(Instant::now(), bob), Err(ErrorCode::UnknownPlayer));
    assert_eq!(s.roster.by_token("tb"), None);
    // ann is now everyone: her answer closes the question once durable.
    let a = answer(&mut s, ann, 1, &[1]).unwrap();
    s.commit(Instant::now(), vec![a]);
    assert_eq!(s.phase(), Phase::Reveal);
    s.end(Instant::now()).unwrap();
    assert_eq!(s.phase(), Phase::Finished);
    assert_eq!(s.end(Instant::now()), Err(ErrorCode::Finished));
    assert_eq!(
        s.join(Instant::now(), "cy", None, "tc".into()),
        Err(ErrorCode::Finished)
    );
}

#[tokio::test(start_paused = true)]
async fn pushes_are_coalesced_and_versioned() {
    let mut s = session(1);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    s.attach(Instant::now(), ann);
    // Leading edge: the first change is due at once.
    assert_eq!(s.push_due(Instant::now()), Some(true));
    let rank = |score| {
        vec![BoardRank {
            player: ann,
            rank: 1,
            score,
        }]
    };
    s.push(Instant::now(), rank(0), rank(0));
    let fx = s.take_effects();
    let versions: Vec<u64> = sends(&fx)
        .iter()
        .filter_map(|(_, m)| match m {
            ServerMsg::Leaderboard { version, .. } | ServerMsg::Rank { version, .. } => {
                Some(*version)
            }
            _ => None,
        })
        .collect();
    assert_eq!(versions, vec![1, 1]);
    // A change right after waits for the 250 ms interval.
    s.join(Instant::now(), "bob", None, "tb".into()).unwrap();
    assert_eq!(s.push_due(Instant::now()), None);
    tokio::time::advance(Duration::from_millis(250)).await;
    assert_eq!(s.push_due(Instant::now()), Some(true));
    // Same rank and top, but one more player: ann's rank frame says so
    // (the lobby count reaches the players) with her new percentile.
    s.push(Instant::now(), rank(0), rank(0));
    let fx = s.take_effects();
    assert!(
        matches!(
            &sends(&fx)[..],
            [(
                Target::Player(p),
                ServerMsg::Rank {
                    version: 2,
                    players: 2,
                    percentile: 0,
                    ..
                }
            )] if *p == ann
        ),
        "{fx:?}"
    );
    // Nothing of hers changed: no frame for her, but the version still moves.
    tokio::time::advance(Duration::from_millis(250)).await;
    s.attach(Instant::now(), 2);
    s.take_effects();
    s.push(Instant::now(), rank(0), rank(0));
    assert!(sends(&s.take_effects()).is_empty());
    tokio::time::advance(Duration::from_millis(250)).await;
    s.start(Instant::now()).unwrap();
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    s.commit(Instant::now(), vec![a]);
    s.take_effects();
    // The open question's points are held: the push carries only the
    // host's answer counts, and no version.
    assert_eq!(s.push_due(Instant::now()), Some(false));
    s.push(Instant::now(), Vec::new(), Vec::new());
    let fx = sends(&s.take_effects())
        .into_iter()
        .map(|(t, m)| (t, m.clone()))
        .collect::<Vec<_>>();
    assert!(
        matches!(&fx[..], [(Target::Host, ServerMsg::AnswerCounts { .. })]),
        "{fx:?}"
    );
    tokio::time::advance(Duration::from_millis(250)).await;
    s.skip(Instant::now()).unwrap();
    s.take_effects();
    assert_eq!(s.push_due(Instant::now()), Some(true));
    s.push(Instant::now(), rank(1000), rank(1000));
    let fx = s.take_effects();
    assert!(sends(&fx).iter().any(|(t, m)| *t == Target::Player(ann)
        && matches!(
            m,
            ServerMsg::Rank {
                version: 4,
                score: 1000,
                ..
            }
        )));
}

#[tokio::test(start_paused = true)]
async fn resume_keeps_score_and_question_state() {
    let mut s = session(1);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    s.attach(Instant::now(), ann);
    s.start(Instant::now()).unwrap();
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    s.detach(ann);
    s.commit(Instant::now(), vec![a]);
    assert_eq!(s.roster.by_token("ta"), Some(ann));
    let w = s.welcome(Instant::now(), Some(ann));
    assert_eq!(w.resume_token.as_deref(), Some("ta"));
    assert_eq!(w.score, 1000);
    assert_eq!(w.phase, Phase::Reveal);
    assert_eq!(
        s.join(Instant::now(), "ANN", None, "tx".into()),
        Err(ErrorCode::NicknameTaken)
    );
}

/// A session with `n` attached players (ids as the roster gives them).
fn session_of(n: usize) -> Session {
    let mut s = session(1);
    add_players(&mut s, 0, n);
    s
}

/// Joins and attaches players `from..from + n`.
fn add_players(s: &mut Session, from: usize, n: usize) {
    for i in from..from + n {
        let id = s
            .join(Instant::now(), &format!("p{i}"), None, format!("t{i}"))
            .unwrap();
        s.attach(Instant::now(), id);
    }
    s.take_effects();
}

/// Frames of one push in a large session: per player (leaderboard, rank)
/// frames, and the host's top lists.
#[derive(Debug, Default)]
struct Served {
    players: HashMap<u64, (u32, u32)>,
    host_tops: u32,
    /// Top lists broadcast to every player (small sessions).
    all_tops: u32,
}

/// Runs one due push where every player's rank is `rank`, checks that it
/// served whole slots, a player's top list (if sent) right before their
/// rank, and returns the slots it served.
async fn serve_slots(s: &mut Session, rank: u64, got: &mut Served) -> Vec<u64> {
    assert_eq!(s.push_due(Instant::now()), Some(true));
    let ids = s.rank_ids();
    let mut slots: Vec<u64> = ids.iter().map(|id| id % SLOTS as u64).collect();
    slots.sort_unstable();
    slots.dedup();
    let ranks: Vec<BoardRank> = ids
        .iter()
        .map(|&player| BoardRank {
            player,
            rank,
            score: 0,
        })
        .collect();
    let top = (1..=10)
        .map(|player| BoardRank {
            player,
            rank: 1,
            score: 0,
        })
        .collect();
    s.push(Instant::now(), top, ranks);
    let fx = s.take_effects();
    let mut last: Option<(u64, bool)> = None;
    let mut tops = std::collections::HashSet::new();
    for (t, m) in sends(&fx) {
        match (t, m) {
            (Target::Host, ServerMsg::Leaderboard { .. }) => got.host_tops += 1,
            (Target::All, ServerMsg::Leaderboard { .. }) => got.all_tops += 1,
            (Target::Player(p), ServerMsg::Leaderboard { .. }) => {
                assert!(slots.contains(&(p % SLOTS as u64)));
                got.players.entry(p).or_default().0 += 1;
                tops.insert(p);
                last = Some((p, true));
            }
            (Target::Player(p), ServerMsg::Rank { .. }) => {
                assert!(slots.contains(&(p % SLOTS as u64)));
                if tops.contains(&p) {
                    assert_eq!(last, Some((p, true)));
                }
                got.players.entry(p).or_default().1 += 1;
                last = Some((p, false));
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    tokio::time::advance(Duration::from_millis(250)).await;
    slots
}

#[test]
fn pushes_serve_fewer_slots_as_the_session_grows() {
    assert_eq!(slots_per_push(0), SLOTS);
    assert_eq!(slots_per_push(PLAYERS_PER_PUSH), SLOTS);
    assert_eq!(slots_per_push(PLAYERS_PER_PUSH + 1), 7);
    assert_eq!(slots_per_push(5_000), 4);
    assert_eq!(slots_per_push(10_000), 2);
    assert_eq!(slots_per_push(20_000), 1);
    assert_eq!(slots_per_push(usize::MAX), 1);
}

#[tokio::test(start_paused = true)]
async fn large_sessions_push_top_and_rank_to_some_slots_per_tick() {
    for n in [PLAYERS_PER_PUSH + 1, 4 * PLAYERS_PER_PUSH] {
        let mut s = session_of(n);
        let per_push = slots_per_push(n);
        let mut got = Served::default();
        for _ in 0..SLOTS.div_ceil(per_push) {
            let slots = serve_slots(&mut s, 1, &mut got).await;
            assert!(slots.len() <= per_push, "{n} players");
        }
        // Within ceil(SLOTS / per_push) pushes every player got the top list
        // and a rank once, the host got the one top-list change, and
        // nothing is dirty.
        assert_eq!(got.players.len(), n, "{n} players");
        assert!(got.players.values().all(|&c| c == (1, 1)));
        assert_eq!(got.host_tops, 1);
        assert_eq!(s.push_due(Instant::now()), None);
    }
}

#[tokio::test(start_paused = true)]
async fn a_growing_session_serves_everyone_in_time() {
    // Half the slots served, then the session grows from 4 slots a push
    // to 2: every player, old or new, gets the changed rank within the
    // 4 pushes the new size needs, and the top list unless they have it.
    let old = 2 * PLAYERS_PER_PUSH;
    let mut s = session_of(old);
    let mut got = Served::default();
    assert_eq!(serve_slots(&mut s, 1, &mut got).await, [0, 1, 2, 3]);
    let had_top: std::collections::HashSet<u64> = got.players.keys().copied().collect();
    add_players(&mut s, old, PLAYERS_PER_PUSH);
    let mut got = Served::default();
    let mut served = Vec::new();
    for _ in 0..4 {
        served.extend(serve_slots(&mut s, 2, &mut got).await);
    }
    assert_eq!(served, [4, 5, 6, 7, 0, 1, 2, 3]);
    assert_eq!(got.players.len(), 3 * PLAYERS_PER_PUSH);
    for (p, &(tops, ranks)) in &got.players {
        assert_eq!(ranks, 1, "player {p}");
        assert_eq!(tops, u32::from(!had_top.contains(p)), "player {p}");
    }
    assert_eq!(s.push_due(Instant::now()), None);
}

#[tokio::test(start_paused = true)]
async fn a_reconnecting_player_gets_the_top_list_again() {
    for n in [2, 4 * PLAYERS_PER_PUSH] {
        let mut s = session_of(n);
        let mut got = Served::default();
        while s.push_due(Instant::now()).is_some() {
            serve_slots(&mut s, 1, &mut got).await;
        }
        // Small sessions get the top list as a broadcast.
        let top_frames = u32::from(n > PLAYERS_PER_PUSH);
        assert_eq!(got.all_tops, 1 - top_frames);
        assert!(got.players.values().all(|&c| c == (top_frames, 1)));
        // A player drops and resumes; the top list has not changed since.
        let p = *got.players.keys().min().unwrap();
        s.detach(p);
        s.attach(Instant::now(), p);
        s.take_effects();
        let mut again = Served::default();
        while s.push_due(Instant::now()).is_some() {
            serve_slots(&mut s, 1, &mut again).await;
        }
        assert_eq!(again.players.get(&p), Some(&(1, 1)), "{n} players");
        assert_eq!(again.all_tops, 0);
    }
}

fn record(a: &PendingAnswer) -> super::restore::AnswerRecord {
    super::restore::AnswerRecord {
        question: a.question,
        player: a.player,
        choices: a.choices.clone(),
        correct: a.correct,
        points: a.points,
        answered_at: a.answered_at,
    }
}

/// Restores `s` as another gateway would: from its checkpoints and `durable` answers.
fn restore_copy(s: &Session, durable: &[PendingAnswer], epoch_now: i64) -> (Session, Vec<i64>) {
    use super::restore::SessionMeta;
    let meta = SessionMeta {
        session_id: s.id,
        code: s.code.clone(),
        host_token: "host".into(),
        quiz: (*quiz(3)).clone(),
        join: s.join_rules(),
        created_at: 0,
    };
    let players = s
        .roster
        .ids()
        .into_iter()
        .filter_map(|id| s.player_record(id, 1_000_000))
        .collect();
    let answers: Vec<_> = durable.iter().map(record).collect();
    let (r, writes) = Session::restore(
        meta,
        players,
        s.phase_checkpoint(),
        &answers,
        Instant::now(),
        epoch_now,
    );
    (r, writes.iter().map(|w| w.delta).collect())
}

#[tokio::test(start_paused = true)]
async fn a_restored_session_continues_with_durable_scores_streaks_and_deadline() {
    let mut s = session(3);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(Instant::now(), "bob", None, "tb".into()).unwrap();
    let cid = s.join(Instant::now(), "cid", None, "tc".into()).unwrap();
    s.start(Instant::now()).unwrap();
    // Question 0: ann and bob right, cid wrong.
    let a0 = answer(&mut s, ann, 0, &[1]).unwrap();
    let b0 = answer(&mut s, bob, 0, &[1]).unwrap();
    let c0 = answer(&mut s, cid, 0, &[0]).unwrap();
    s.commit(Instant::now(), vec![a0.clone(), b0.clone(), c0.clone()]);
    s.skip(Instant::now()).unwrap(); // leave the reveal
    assert_eq!(s.phase(), Phase::Question);
    // Question 1 at 2 s: ann answers right (durable), bob's answer is accepted but the
    // gateway dies before it is stored; cid has not answered.
    tokio::time::advance(Duration::from_millis(2_000)).await;
    let a1 = answer(&mut s, ann, 1, &[1]).unwrap();
    s.commit(Instant::now(), vec![a1.clone()]);
    let _lost = answer(&mut s, bob, 1, &[1]).unwrap();
    // ann's question-1 points are held until question 1 closes.
    let ann_score = s.roster.get(ann).unwrap().score;
    assert_eq!(ann_score, i64::from(a0.points));

    let epoch_now = s.epoch(Instant::now());
    let durable = [a0.clone(), b0.clone(), c0, a1.clone()];
    let (mut r, totals) = restore_copy(&s, &durable, epoch_now);
    assert_eq!(r.phase(), Phase::Question);
    assert_eq!(
        totals,
        vec![ann_score, i64::from(b0.points), 0],
        "board totals: the open question's points stay held"
    );
    // Streaks up to the last closed question; ann's answer makes hers 2 at the close.
    assert_eq!(r.roster.get(ann).unwrap().streak, 1);
    assert_eq!(r.roster.get(bob).unwrap().streak, 1);
    assert_eq!(r.roster.get(cid).unwrap().streak, 0);
    assert!(r.roster.get(ann).is_some_and(|p| !p.connected));
    assert_eq!(r.roster.by_token("tb"), Some(bob));
    // Same question, same deadline (8 s left), answer-once from the durable record.
    let w = r.welcome(Instant::now(), Some(ann));
    assert!(w.answered);
    assert_eq!(w.score, ann_score);
    assert_eq!(
        w.question.as_ref().map(|q| q.deadline),
        Some(1_000_000 + 10_000)
    );
    assert_eq!(
        r.answer(Instant::now(), ann, 1, &[1], None),
        Err(ErrorCode::AlreadyAnswered)
    );
    // bob's lost answer can be given again, with his streak from question 0.
    let b1 = r.answer(Instant::now(), bob, 1, &[1], None).unwrap();
    assert_eq!(b1.points, a1.points, "same speed, same streak bonus as ann");
    // New players never reuse an id.
    assert_eq!(r.join(Instant::now(), "dan", None, "td".into()), Ok(4));
    // Leaderboard versions continue above the old owner's.
    assert!(r.push.version() >= epoch_now as u64);
    // The deadline still closes it: cid never answers.
    r.take_effects();
    r.commit(Instant::now(), vec![b1]);
    tokio::time::advance(Duration::from_millis(8_000)).await;
    r.tick(Instant::now());
    assert_eq!(r.phase(), Phase::Reveal);
    let fx = r.take_effects();
    let ann_result = sends(&fx).into_iter().find_map(|(t, m)| match (t, m) {
        (
            Target::Player(p),
            ServerMsg::Reveal {
                result: Some(res), ..
            },
        ) if p == ann => Some(*res),
        _ => None,
    });
    let ann_result = ann_result.expect("ann's reveal");
    assert!(ann_result.answered && ann_result.correct);
    assert_eq!(ann_result.points, a1.points);
    assert_eq!(ann_result.streak, 2);
    assert_eq!(ann_result.score, ann_score + i64::from(a1.points));
    assert_eq!(r.roster.get(ann).unwrap().streak, 2);
}

#[tokio::test(start_paused = true)]
async fn restoring_a_closed_question_or_finished_session_moves_on() {
    let mut s = session(3);
    let ann = s.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    s.start(Instant::now()).unwrap();
    let a0 = answer(&mut s, ann, 0, &[1]).unwrap();
    s.commit(Instant::now(), vec![a0.clone()]);
    // All answered: revealed; the restore keeps the reveal and its end time.
    assert_eq!(s.phase(), Phase::Reveal);
    let (mut r, _) = restore_copy(&s, std::slice::from_ref(&a0), s.epoch(Instant::now()));
    assert_eq!(r.phase(), Phase::Reveal);
    tokio::time::advance(Duration::from_millis(3_000)).await;
    r.tick(Instant::now());
    assert_eq!(r.phase(), Phase::Question);

    // A question past its deadline when restored is revealed at the first tick.
    let ck = r.phase_checkpoint();
    tokio::time::advance(Duration::from_millis(20_000)).await;
    let (mut late, _) = {
        let mut copy = r;
        copy.take_effects();
        assert!(matches!(
            ck.phase,
            super::restore::PhaseRecord::Question { index: 1, .. }
        ));
        let e = copy.epoch(Instant::now());
        restore_copy(&copy, std::slice::from_ref(&a0), e)
    };
    late.tick(Instant::now());
    assert_eq!(late.phase(), Phase::Reveal);

    // A finished session whose standings were not stored finishes again.
    let mut f = session(3);
    f.join(Instant::now(), "ann", None, "ta".into()).unwrap();
    f.end(Instant::now()).unwrap();
    assert_eq!(f.phase(), Phase::Finished);
    let (mut rf, _) = restore_copy(&f, &[], f.epoch(Instant::now()));
    assert_eq!(rf.phase(), Phase::Finished);
    assert!(rf.take_effects().contains(&Effect::Finished));
}

/// The board as the actor keeps it: score writes applied once per op key, ranked
/// (competition style, ties by player id here) for pushes.
#[derive(Debug, Default)]
struct Board {
    scores: HashMap<u64, i64>,
    ops: std::collections::HashSet<String>,
}

impl Board {
    /// A board holding each player's current total (what a restore writes).
    fn of(s: &Session) -> Board {
        let scores = s
            .roster
            .ids()
            .into_iter()
            .filter_map(|id| Some((id, s.roster.get(id)?.score)))
            .collect();
        Board {
            scores,
            ..Board::default()
        }
    }

    fn apply(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::Score(writes) => {
                    for w in writes {
                        if self.ops.insert(w.op_key.clone()) {
                            *self.scores.entry(w.player).or_default() += w.delta;
                        }
                    }
                }
                Effect::Unscore(p) => {
                    self.scores.remove(p);
                }
                _ => {}
            }
        }
    }

    fn ranks(&self) -> Vec<BoardRank> {
        let mut all: Vec<(u64, i64)> = self.scores.iter().map(|(p, s)| (*p, *s)).collect();
        all.sort_by_key(|&(p, s)| (std::cmp::Reverse(s), p));
        all.iter()
            .map(|&(player, score)| BoardRank {
                player,
                rank: 1 + all.iter().filter(|(_, s)| *s > score).count() as u64,
                score,
            })
            .collect()
    }
}

/// One actor turn: performs the queued effects on `board`, then the push if one is due;
/// returns every frame of the turn in order.
fn turn(s: &mut Session, board: &mut Board) -> Vec<(Target, ServerMsg)> {
    let mut fx = s.take_effects();
    board.apply(&fx);
    if s.push_due(Instant::now()).is_some() {
        let ids = s.rank_ids();
        let all = board.ranks();
        let ranks = all.iter().filter(|r| ids.contains(&r.player)).copied();
        s.push(Instant::now(), all.clone(), ranks.collect());
        let pushed = s.take_effects();
        board.apply(&pushed);
        fx.extend(pushed);
    }
    sends(&fx)
        .into_iter()
        .map(|(t, m)| (t, m.clone()))
        .collect()
}

/// No frame a player gets tells a score other than 0, or points, or a result.
fn assert_no_points(frames: &[(Target, ServerMsg)]) {
    for (t, m) in frames {
        match m {
            ServerMsg::Rank { score, .. } => assert_eq!(*score, 0, "{t:?} {m:?}"),
            ServerMsg::Leaderboard { top, .. } => {
                assert!(top.iter().all(|st| st.score == 0), "{t:?} {m:?}")
            }
            ServerMsg::Reveal { .. } | ServerMsg::Finished { .. } => panic!("{t:?} {m:?}"),
            _ => {}
        }
    }
}

/// At the question's deadline: the reveal gives ann her points, and the frames after it
/// (the first push) show them; the board has them.
async fn closes_with_the_points(s: &mut Session, board: &mut Board, ann: u64, points: u32) {
    tokio::time::advance(Duration::from_millis(10_000)).await;
    s.tick(Instant::now());
    assert_eq!(s.phase(), Phase::Reveal);
    let frames = turn(s, board);
    let reveal = frames.iter().position(|(t, m)| {
        *t == Target::Player(ann)
            && matches!(m, ServerMsg::Reveal { result: Some(r), .. }
                if r.correct && r.points == points && r.score == i64::from(points))
    });
    let rank = frames.iter().position(|(t, m)| {
        *t == Target::Player(ann)
            && matches!(m, ServerMsg::Rank { rank: 1, score, .. } if *score == i64::from(points))
    });
    let top = frames.iter().position(|(_, m)| {
        matches!(m, ServerMsg::Leaderboard { top, .. }
            if top[0].player_id == ann && top[0].score == i64::from(points))
    });
    assert!(
        reveal.is_some() && reveal < rank && reveal < top,
        "{frames:?}"
    );
    assert_eq!(board.scores[&ann], i64::from(points));
    assert_eq!(s.roster.get(ann).unwrap().score, i64::from(points));
}

#[tokio::test(start_paused = true)]
async fn points_reach_the_board_and_pushes_only_when_the_question_closes() {
    let mut s = session(3);
    let mut board = Board::default();
    let ids: Vec<u64> = ["ann", "bob", "cid"]
        .into_iter()
        .map(|n| {
            let id = s.join(Instant::now(), n, None, format!("t{n}")).unwrap();
            s.attach(Instant::now(), id);
            id
        })
        .collect();
    let (ann, bob) = (ids[0], ids[1]);
    assert_no_points(&turn(&mut s, &mut board));
    tokio::time::advance(Duration::from_millis(250)).await;
    s.start(Instant::now()).unwrap();
    // ann right, bob wrong, both durable and acknowledged; cid keeps the question open.
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    let b = answer(&mut s, bob, 0, &[0]).unwrap();
    assert_eq!((a.points, b.points), (1000, 0));
    s.commit(Instant::now(), vec![a.clone(), b.clone()]);
    let frames = turn(&mut s, &mut board);
    assert_no_points(&frames);
    assert!(frames
        .iter()
        .any(|(t, m)| *t == Target::Player(ann)
            && matches!(m, ServerMsg::AnswerAck { question: 0, .. })));
    assert!(board.scores.values().all(|&v| v == 0), "{board:?}");
    // Pushes keep coming (a player resumes, another joins): still no points.
    tokio::time::advance(Duration::from_millis(300)).await;
    s.detach(ann);
    s.attach(Instant::now(), ann);
    let w = s.welcome(Instant::now(), Some(ann));
    assert!(w.answered);
    assert_eq!(w.score, 0);
    s.join(Instant::now(), "dan", None, "tdan".into()).unwrap();
    assert_no_points(&turn(&mut s, &mut board));

    // Another gateway takes the session over mid-question from the durable answers: the
    // answers count (answer-once), their points stay held.
    let (mut r, totals) = restore_copy(&s, &[a.clone(), b], s.epoch(Instant::now()));
    assert!(totals.iter().all(|&t| t == 0), "{totals:?}");
    let mut restored_board = Board::of(&r);
    for id in r.roster.ids() {
        r.attach(Instant::now(), id);
    }
    let w = r.welcome(Instant::now(), Some(ann));
    assert!(w.answered);
    assert_eq!(w.score, 0);
    assert_eq!(
        r.answer(Instant::now(), ann, 0, &[1], None),
        Err(ErrorCode::AlreadyAnswered)
    );
    assert_no_points(&turn(&mut r, &mut restored_board));

    // Both copies apply ann's points at the close, not before.
    closes_with_the_points(&mut r, &mut restored_board, ann, a.points).await;
    closes_with_the_points(&mut s, &mut board, ann, a.points).await;
}
