//! State machine tests; the time is a value the test passes in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::testing::{advance, now, SEED};
use livequiz_sdk::live::{close, Capabilities, ErrorCode, Phase, ScoringRules, ServerMsg};

use crate::effects::{Effect, PendingAnswer, Target};
use crate::quiz::{LiveQuestion, LiveQuiz};
use crate::session::Session;

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
    Session::new(7, "123456".into(), quiz(n), now(), 1_000_000, SEED)
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
    s.answer(now(), p, q, c, None)
}

#[test]
fn a_full_game_scores_by_the_formula_and_streaks() {
    let mut s = session(2);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(now(), "bob", None, "tb".into()).unwrap();
    s.attach(now(), ann);
    s.attach(now(), bob);
    s.take_effects();
    s.start(now()).unwrap();
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
    advance(Duration::from_millis(5_000));
    let b = answer(&mut s, bob, 0, &[1]).unwrap();
    assert_eq!(b.points, 750);
    s.commit(now(), vec![a]);
    let fx = s.take_effects();
    assert!(sends(&fx)
        .iter()
        .any(|(t, m)| *t == Target::Player(ann) && matches!(m, ServerMsg::AnswerAck { .. })));
    // The points are held until the question closes.
    assert!(!fx.iter().any(|e| matches!(e, Effect::Score(_))), "{fx:?}");
    assert_eq!(s.score(ann), Some(0));
    assert_eq!(
        s.phase(),
        Phase::Question,
        "bob's answer is not durable yet"
    );
    s.commit(now(), vec![b]);
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
    advance(Duration::from_millis(3_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    let a2 = answer(&mut s, ann, 1, &[1]).unwrap();
    assert_eq!(a2.points, 1100);
    let b2 = answer(&mut s, bob, 1, &[0]).unwrap();
    assert_eq!(b2.points, 0);
    s.commit(now(), vec![a2, b2]);
    assert_eq!(s.score(ann), Some(2100));
    assert_eq!(s.score(bob), Some(750));
    advance(Duration::from_millis(3_000));
    s.take_effects();
    s.tick(now());
    assert_eq!(s.phase(), Phase::Finished);
    assert!(s.take_effects().contains(&Effect::Finished));
}

#[test]
fn the_deadline_is_enforced_and_waits_for_pending_answers() {
    let mut s = session(1);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(now(), "bob", None, "tb".into()).unwrap();
    assert_eq!(answer(&mut s, ann, 0, &[1]), Err(ErrorCode::NotOpen));
    s.start(now()).unwrap();
    assert_eq!(s.start(now()), Err(ErrorCode::WrongPhase));
    assert_eq!(answer(&mut s, ann, 0, &[7]), Err(ErrorCode::BadChoice));
    assert_eq!(answer(&mut s, ann, 1, &[1]), Err(ErrorCode::NotOpen));
    advance(Duration::from_millis(9_999));
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    assert_eq!(a.points, 500);
    advance(Duration::from_millis(1));
    assert_eq!(answer(&mut s, bob, 0, &[1]), Err(ErrorCode::TooLate));
    assert_eq!(s.next_wakeup().map(|w| w <= now()), Some(true));
    s.tick(now());
    assert_eq!(
        s.phase(),
        Phase::Question,
        "the reveal waits for the pending answer"
    );
    s.commit(now(), vec![a]);
    assert_eq!(s.phase(), Phase::Reveal);
    assert_eq!(answer(&mut s, bob, 0, &[1]), Err(ErrorCode::TooLate));
}

#[test]
fn answers_are_judged_by_when_they_were_received_not_when_they_are_handled() {
    let mut s = session(2);
    let ids: Vec<u64> = ["ann", "bob", "cy", "dan", "eve"]
        .iter()
        .map(|n| s.join(now(), n, None, format!("t{n}")).unwrap())
        .collect();
    let [ann, bob, cy, dan, eve] = ids[..] else {
        unreachable!()
    };
    let opened = now();
    s.start(opened).unwrap();
    let at = |ms: u64| opened + Duration::from_millis(ms);
    // The session is busy: nothing reaches it until 12 s, past the 10 s
    // deadline. ann's answer came in at 2 s: accepted, and paid for 2 s.
    advance(Duration::from_millis(12_000));
    let a = s.answer(at(2_000), ann, 0, &[1], None).unwrap();
    assert_eq!(a.points, 900);
    assert_eq!(a.elapsed_ms, 2_000);
    assert_eq!(a.answered_at, 1_000_000 + 2_000, "stamped when received");
    // One received after the deadline is late, whenever it is handled.
    assert_eq!(
        s.answer(at(10_000), eve, 0, &[1], None),
        Err(ErrorCode::TooLate)
    );
    // The deadline passes (the driver ticks once it has handed over what was
    // queued): the question closes, waiting for ann's pending answer, and
    // answers received in time still get in meanwhile.
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    let b = s.answer(at(9_999), bob, 0, &[1], None).unwrap();
    assert_eq!(b.points, 500);
    assert_eq!(
        s.answer(at(10_000), cy, 0, &[1], None),
        Err(ErrorCode::TooLate)
    );
    s.commit(now(), vec![a]);
    assert_eq!(s.phase(), Phase::Question, "bob's answer is pending too");
    s.commit(now(), vec![b]);
    assert_eq!(s.phase(), Phase::Reveal);
    // Once revealed, nothing more gets in, in time or not.
    assert_eq!(
        s.answer(at(5_000), dan, 0, &[1], None),
        Err(ErrorCode::TooLate)
    );
    // An answer to the next question received before it opened is refused.
    advance(Duration::from_millis(3_000));
    let before_open = now() - Duration::from_millis(1);
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    assert_eq!(
        s.answer(before_open, dan, 1, &[1], None),
        Err(ErrorCode::NotOpen)
    );
    // A skip closes it at the moment the host's skip is handled: an answer
    // received before then still counts, one received after does not.
    advance(Duration::from_millis(1_000));
    let skipped = now();
    s.skip(skipped).unwrap();
    assert_eq!(
        s.phase(),
        Phase::Reveal,
        "nothing pending: revealed at once"
    );
    assert_eq!(
        s.answer(skipped, dan, 1, &[1], None),
        Err(ErrorCode::TooLate)
    );
}

#[test]
fn a_closing_question_takes_answers_received_before_the_skip() {
    let mut s = session(1);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(now(), "bob", None, "tb".into()).unwrap();
    let cy = s.join(now(), "cy", None, "tc".into()).unwrap();
    s.start(now()).unwrap();
    advance(Duration::from_millis(1_000));
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    let received = now();
    advance(Duration::from_millis(1_000));
    s.skip(now()).unwrap();
    assert_eq!(s.phase(), Phase::Question, "ann's answer is pending");
    let b = s.answer(received, bob, 0, &[1], None).unwrap();
    assert_eq!(s.answer(now(), cy, 0, &[1], None), Err(ErrorCode::TooLate));
    s.commit(now(), vec![a, b]);
    assert_eq!(s.phase(), Phase::Reveal);
}

#[test]
fn host_controls_skip_remove_and_end() {
    let mut s = session(3);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(now(), "bob", None, "tb".into()).unwrap();
    assert_eq!(s.skip(now()), Err(ErrorCode::WrongPhase));
    s.start(now()).unwrap();
    s.skip(now()).unwrap();
    assert_eq!(s.phase(), Phase::Reveal);
    s.skip(now()).unwrap();
    assert_eq!(s.phase(), Phase::Question);
    s.take_effects();
    s.remove(now(), bob).unwrap();
    let fx = s.take_effects();
    assert!(fx.contains(&Effect::Close(Target::Player(bob), close::REMOVED)));
    assert!(fx.contains(&Effect::Unscore(bob)));
    assert_eq!(s.remove(now(), bob), Err(ErrorCode::UnknownPlayer));
    assert_eq!(s.roster.by_token("tb"), None);
    // ann is now everyone: her answer closes the question once durable.
    let a = answer(&mut s, ann, 1, &[1]).unwrap();
    s.commit(now(), vec![a]);
    assert_eq!(s.phase(), Phase::Reveal);
    s.end(now()).unwrap();
    assert_eq!(s.phase(), Phase::Finished);
    assert_eq!(s.end(now()), Err(ErrorCode::Finished));
    assert_eq!(
        s.join(now(), "cy", None, "tc".into()),
        Err(ErrorCode::Finished)
    );
}

#[test]
fn pushes_are_coalesced_and_versioned() {
    let mut s = session(1);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    s.attach(now(), ann);
    // Leading edge: the first change is due at once.
    assert!(s.push_due(now()));
    s.push(now());
    let fx = s.take_effects();
    let versions: Vec<(Target, u64)> = sends(&fx)
        .iter()
        .filter_map(|(t, m)| match m {
            ServerMsg::Leaderboard { version, .. } | ServerMsg::Rank { version, .. } => {
                Some((*t, *version))
            }
            _ => None,
        })
        .collect();
    // The host's top list, then ann's, right before her rank.
    let ann_t = Target::Player(ann);
    assert_eq!(versions, vec![(Target::Host, 1), (ann_t, 1), (ann_t, 1)]);
    // A change right after waits for the 250 ms interval.
    let bob = s.join(now(), "bob", None, "tb".into()).unwrap();
    assert!(!s.push_due(now()));
    advance(Duration::from_millis(250));
    assert!(s.push_due(now()));
    // Same rank, but one more player: ann's rank frame says so (the lobby
    // count reaches the players) with her new percentile; the host's top
    // list gains bob.
    s.push(now());
    let fx = s.take_effects();
    let to_ann: Vec<&ServerMsg> = sends(&fx)
        .into_iter()
        .filter(|(t, _)| *t == ann_t)
        .map(|(_, m)| m)
        .collect();
    assert!(
        matches!(
            &to_ann[..],
            [
                ServerMsg::Leaderboard { version: 2, .. },
                ServerMsg::Rank {
                    version: 2,
                    players: 2,
                    percentile: 0,
                    ..
                }
            ]
        ),
        "{fx:?}"
    );
    // Nothing of hers changed: no frame for her (bob, attaching, gets his
    // first), but the version still moves.
    advance(Duration::from_millis(250));
    s.attach(now(), bob);
    s.take_effects();
    s.push(now());
    let fx = s.take_effects();
    assert!(
        sends(&fx).iter().all(|(t, _)| *t == Target::Player(bob)),
        "{fx:?}"
    );
    assert!(sends(&fx)
        .iter()
        .any(|(_, m)| matches!(m, ServerMsg::Rank { version: 3, .. })));
    advance(Duration::from_millis(250));
    s.start(now()).unwrap();
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    s.commit(now(), vec![a]);
    s.take_effects();
    // The open question's points are held: the push carries only the
    // host's answer counts, and no version.
    assert!(s.push_due(now()));
    s.push(now());
    let fx = sends(&s.take_effects())
        .into_iter()
        .map(|(t, m)| (t, m.clone()))
        .collect::<Vec<_>>();
    assert!(
        matches!(&fx[..], [(Target::Host, ServerMsg::AnswerCounts { .. })]),
        "{fx:?}"
    );
    advance(Duration::from_millis(250));
    s.skip(now()).unwrap();
    // The reveal tells ann her new score and rank, with the next version.
    let fx = s.take_effects();
    assert!(sends(&fx).iter().any(|(t, m)| *t == Target::Player(ann)
        && matches!(
            m,
            ServerMsg::Reveal {
                version: 4,
                result: Some(r),
                ..
            } if r.score == 1000 && r.rank == Some(1)
        )));
    // The push after it carries the top list and ann's rank frame (for
    // clients that read the standing from rank frames only) with a newer version.
    assert!(s.push_due(now()));
    s.push(now());
    let fx = s.take_effects();
    assert!(sends(&fx).iter().any(|(t, m)| *t == Target::Player(ann)
        && matches!(
            m,
            ServerMsg::Rank {
                version: 5,
                score: 1000,
                ..
            }
        )));
}

#[test]
fn resume_keeps_score_and_question_state() {
    let mut s = session(1);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    s.attach(now(), ann);
    s.start(now()).unwrap();
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    s.detach(ann);
    s.commit(now(), vec![a]);
    assert_eq!(s.roster.by_token("ta"), Some(ann));
    let w = s.welcome(now(), Some(ann));
    assert_eq!(w.resume_token.as_deref(), Some("ta"));
    assert_eq!(w.score, 1000);
    assert_eq!(w.phase, Phase::Reveal);
    assert_eq!(
        s.join(now(), "ANN", None, "tx".into()),
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
            .join(now(), &format!("p{i}"), None, format!("t{i}"))
            .unwrap();
        s.attach(now(), id);
    }
    s.take_effects();
}

/// Frames of pushes, per player: (top lists, rank frames); and the host's
/// top lists.
#[derive(Debug, Default)]
struct Served {
    players: HashMap<u64, (u32, u32)>,
    host_tops: u32,
}

/// Runs one due push, checks that a player's top list (if sent) comes right
/// before their rank frame (if sent), counts what it sent, and returns the
/// rank frames by player. Then the clock moves to the next push.
fn serve(s: &mut Session, got: &mut Served) -> HashMap<u64, ServerMsg> {
    assert!(s.push_due(now()));
    s.push(now());
    let fx = s.take_effects();
    let mut tops = HashMap::new();
    let mut ranks = HashMap::new();
    let mut rank_at = HashMap::new();
    for (i, (t, m)) in sends(&fx).into_iter().enumerate() {
        match (t, m) {
            (Target::Host, ServerMsg::Leaderboard { .. }) => got.host_tops += 1,
            (Target::Player(p), ServerMsg::Leaderboard { .. }) => {
                got.players.entry(p).or_default().0 += 1;
                assert!(tops.insert(p, i).is_none(), "two top lists for {p}");
            }
            (Target::Player(p), ServerMsg::Rank { .. }) => {
                got.players.entry(p).or_default().1 += 1;
                assert!(
                    ranks.insert(p, m.clone()).is_none(),
                    "two rank frames for {p}"
                );
                rank_at.insert(p, i);
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    for (p, top) in tops {
        if let Some(rank) = rank_at.get(&p) {
            assert_eq!(
                *rank,
                top + 1,
                "player {p}: the top list right before the rank"
            );
        }
    }
    advance(Duration::from_millis(250));
    ranks
}

/// Pushes until none is due.
fn settle(s: &mut Session) {
    let mut got = Served::default();
    while s.push_due(now()) {
        serve(s, &mut got);
    }
}

#[test]
fn the_reveal_and_the_next_push_give_every_one_of_10_000_players_their_new_rank() {
    let n = 10_000;
    let mut s = session_of(n);
    settle(&mut s);
    s.start(now()).unwrap();
    // Even ids right, odd ids wrong: everyone's rank or score moves.
    let ids = s.roster.ids();
    let answers: Vec<PendingAnswer> = ids
        .iter()
        .map(|&p| answer(&mut s, p, 0, if p % 2 == 0 { &[1] } else { &[0] }).unwrap())
        .collect();
    s.commit(now(), answers);
    assert_eq!(s.phase(), Phase::Reveal, "everyone answered");
    let fx = s.take_effects();
    let mut ranks = HashMap::new();
    for (t, m) in sends(&fx) {
        if let (
            Target::Player(p),
            ServerMsg::Reveal {
                result: Some(r), ..
            },
        ) = (t, m)
        {
            assert!(
                ranks.insert(p, (r.rank, r.score)).is_none(),
                "two reveals for {p}"
            );
        }
    }
    assert_eq!(ranks.len(), n, "every player's new rank in the reveal");
    for (p, got) in &ranks {
        let expected = if p % 2 == 0 {
            (Some(1), 1000)
        } else {
            (Some(n as u64 / 2 + 1), 0)
        };
        assert_eq!(*got, expected, "player {p}");
    }
    // The first push after it: every player's rank frame with the same
    // standing, with the top list that changed right before it.
    let mut got = Served::default();
    let pushed = serve(&mut s, &mut got);
    assert_eq!(pushed.len(), n, "every player's new rank in the first push");
    for (p, m) in &pushed {
        let ServerMsg::Rank { rank, score, .. } = m else {
            unreachable!()
        };
        assert_eq!((Some(*rank), *score), ranks[p], "player {p}");
    }
    assert!(got.players.values().all(|&c| c == (1, 1)));
    assert_eq!(got.host_tops, 1);
    // Nothing changed since: nothing left to tell anyone.
    let mut later = Served::default();
    while s.push_due(now()) {
        serve(&mut s, &mut later);
    }
    assert!(later.players.is_empty(), "{:?}", later.players.len());
}

#[test]
fn count_only_changes_reach_every_player_in_the_next_push() {
    // Up to the session cap of 10,000 players.
    for n in [100, 9_999] {
        let mut s = session_of(n);
        settle(&mut s);
        // One more player: the count moves for everyone, nobody's rank does.
        add_players(&mut s, n, 1);
        let mut got = Served::default();
        let ranks = serve(&mut s, &mut got);
        assert_eq!(ranks.len(), n + 1, "{n} players: everyone in one push");
        assert!(ranks
            .values()
            .all(|m| matches!(m, ServerMsg::Rank { players, .. } if *players == n as u32 + 1)));
        // Every player got the new count once; the newcomer got the top list.
        assert!(got.players.values().all(|&(_, ranks)| ranks == 1));
        assert_eq!(got.players.values().map(|c| c.0).sum::<u32>(), 1);
        assert!(!s.push_due(now()));
    }
}

#[test]
fn a_reconnecting_player_gets_the_top_list_again() {
    for n in [2, 10_000] {
        let mut s = session_of(n);
        settle(&mut s);
        // A player drops and resumes; the top list has not changed since.
        let p = 1;
        s.detach(p);
        s.attach(now(), p);
        s.take_effects();
        let mut again = Served::default();
        while s.push_due(now()) {
            serve(&mut s, &mut again);
        }
        assert_eq!(again.players.get(&p), Some(&(1, 1)), "{n} players");
        assert_eq!(again.players.len(), 1, "{n} players");
        assert_eq!(again.host_tops, 0);
    }
}

fn record(a: &PendingAnswer) -> crate::restore::AnswerRecord {
    crate::restore::AnswerRecord {
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
    use crate::restore::SessionMeta;
    let meta = SessionMeta {
        session_id: s.id,
        code: s.code.clone(),
        host_token: "host".into(),
        quiz: (*quiz(3)).clone(),
        join: s.join_rules(),
        created_at: 0,
        hostless: None,
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
        now(),
        epoch_now,
        SEED,
    );
    (r, writes.iter().map(|w| w.delta).collect())
}

#[test]
fn a_restored_session_continues_with_durable_scores_streaks_and_deadline() {
    let mut s = session(3);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    let bob = s.join(now(), "bob", None, "tb".into()).unwrap();
    let cid = s.join(now(), "cid", None, "tc".into()).unwrap();
    s.start(now()).unwrap();
    // Question 0: ann and bob right, cid wrong.
    let a0 = answer(&mut s, ann, 0, &[1]).unwrap();
    let b0 = answer(&mut s, bob, 0, &[1]).unwrap();
    let c0 = answer(&mut s, cid, 0, &[0]).unwrap();
    s.commit(now(), vec![a0.clone(), b0.clone(), c0.clone()]);
    s.skip(now()).unwrap(); // leave the reveal
    assert_eq!(s.phase(), Phase::Question);
    // Question 1 at 2 s: ann answers right (durable), bob's answer is accepted but the
    // gateway dies before it is stored; cid has not answered.
    advance(Duration::from_millis(2_000));
    let a1 = answer(&mut s, ann, 1, &[1]).unwrap();
    s.commit(now(), vec![a1.clone()]);
    let _lost = answer(&mut s, bob, 1, &[1]).unwrap();
    // ann's question-1 points are held until question 1 closes.
    let ann_score = s.score(ann).unwrap();
    assert_eq!(ann_score, i64::from(a0.points));

    let epoch_now = s.epoch(now());
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
    let w = r.welcome(now(), Some(ann));
    assert!(w.answered);
    assert_eq!(w.score, ann_score);
    assert_eq!(
        w.question.as_ref().map(|q| q.deadline),
        Some(1_000_000 + 10_000)
    );
    assert_eq!(
        r.answer(now(), ann, 1, &[1], None),
        Err(ErrorCode::AlreadyAnswered)
    );
    // bob's lost answer can be given again, with his streak from question 0.
    let b1 = r.answer(now(), bob, 1, &[1], None).unwrap();
    assert_eq!(b1.points, a1.points, "same speed, same streak bonus as ann");
    // New players never reuse an id.
    assert_eq!(r.join(now(), "dan", None, "td".into()), Ok(4));
    // Leaderboard versions continue above the old owner's.
    assert!(r.push.version() >= epoch_now as u64);
    // The deadline still closes it: cid never answers.
    r.take_effects();
    r.commit(now(), vec![b1]);
    advance(Duration::from_millis(8_000));
    r.tick(now());
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

#[test]
fn restoring_a_closed_question_or_finished_session_moves_on() {
    let mut s = session(3);
    let ann = s.join(now(), "ann", None, "ta".into()).unwrap();
    s.start(now()).unwrap();
    let a0 = answer(&mut s, ann, 0, &[1]).unwrap();
    s.commit(now(), vec![a0.clone()]);
    // All answered: revealed; the restore keeps the reveal and its end time.
    assert_eq!(s.phase(), Phase::Reveal);
    let (mut r, _) = restore_copy(&s, std::slice::from_ref(&a0), s.epoch(now()));
    assert_eq!(r.phase(), Phase::Reveal);
    advance(Duration::from_millis(3_000));
    r.tick(now());
    assert_eq!(r.phase(), Phase::Question);

    // A question past its deadline when restored is revealed at the first tick.
    let ck = r.phase_checkpoint();
    advance(Duration::from_millis(20_000));
    let (mut late, _) = {
        let mut copy = r;
        copy.take_effects();
        assert!(matches!(
            ck.phase,
            crate::restore::PhaseRecord::Question { index: 1, .. }
        ));
        let e = copy.epoch(now());
        restore_copy(&copy, std::slice::from_ref(&a0), e)
    };
    late.tick(now());
    assert_eq!(late.phase(), Phase::Reveal);

    // A finished session whose standings were not stored finishes again.
    let mut f = session(3);
    f.join(now(), "ann", None, "ta".into()).unwrap();
    f.end(now()).unwrap();
    assert_eq!(f.phase(), Phase::Finished);
    let (mut rf, _) = restore_copy(&f, &[], f.epoch(now()));
    assert_eq!(rf.phase(), Phase::Finished);
    assert!(rf.take_effects().contains(&Effect::Finished));
}

/// What a mirror of the session's board holds: the `Score` and `Unscore`
/// effects, each write applied once per op key.
#[derive(Debug, Default)]
struct Mirror {
    scores: HashMap<u64, i64>,
    ops: std::collections::HashSet<String>,
}

impl Mirror {
    /// A mirror reset to the session's totals (what a restore writes).
    fn of(s: &Session) -> Mirror {
        let scores = s
            .ranks()
            .all()
            .iter()
            .map(|r| (r.player, r.score))
            .collect();
        Mirror {
            scores,
            ..Mirror::default()
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

    /// Holds exactly the session's scores.
    fn assert_matches(&self, s: &Session) {
        let engine: HashMap<u64, i64> = s
            .ranks()
            .all()
            .iter()
            .map(|r| (r.player, r.score))
            .collect();
        assert_eq!(self.scores, engine);
    }
}

/// One actor turn: the queued effects (copied to the mirror), then the push
/// if one is due; returns every frame of the turn in order.
fn turn(s: &mut Session, mirror: &mut Mirror) -> Vec<(Target, ServerMsg)> {
    let mut fx = s.take_effects();
    mirror.apply(&fx);
    if s.push_due(now()) {
        s.push(now());
        let pushed = s.take_effects();
        mirror.apply(&pushed);
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

/// At the question's deadline: the reveal gives ann her points and her new rank, and the
/// frames after it (the first push) show them; the board and its mirror have them.
fn closes_with_the_points(s: &mut Session, mirror: &mut Mirror, ann: u64, points: u32) {
    advance(Duration::from_millis(10_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Reveal);
    let frames = turn(s, mirror);
    let reveal = frames.iter().position(|(t, m)| {
        *t == Target::Player(ann)
            && matches!(m, ServerMsg::Reveal { result: Some(r), .. }
                if r.correct && r.points == points && r.score == i64::from(points)
                    && r.rank == Some(1))
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
    assert_eq!(s.score(ann), Some(i64::from(points)));
    mirror.assert_matches(s);
}

#[test]
fn points_reach_the_board_and_pushes_only_when_the_question_closes() {
    let mut s = session(3);
    let mut board = Mirror::default();
    let ids: Vec<u64> = ["ann", "bob", "cid"]
        .into_iter()
        .map(|n| {
            let id = s.join(now(), n, None, format!("t{n}")).unwrap();
            s.attach(now(), id);
            id
        })
        .collect();
    let (ann, bob) = (ids[0], ids[1]);
    assert_no_points(&turn(&mut s, &mut board));
    advance(Duration::from_millis(250));
    s.start(now()).unwrap();
    // ann right, bob wrong, both durable and acknowledged; cid keeps the question open.
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    let b = answer(&mut s, bob, 0, &[0]).unwrap();
    assert_eq!((a.points, b.points), (1000, 0));
    s.commit(now(), vec![a.clone(), b.clone()]);
    let frames = turn(&mut s, &mut board);
    assert_no_points(&frames);
    assert!(frames
        .iter()
        .any(|(t, m)| *t == Target::Player(ann)
            && matches!(m, ServerMsg::AnswerAck { question: 0, .. })));
    assert!(board.scores.values().all(|&v| v == 0), "{board:?}");
    board.assert_matches(&s);
    // Pushes keep coming (a player resumes, another joins): still no points.
    advance(Duration::from_millis(300));
    s.detach(ann);
    s.attach(now(), ann);
    let w = s.welcome(now(), Some(ann));
    assert!(w.answered);
    assert_eq!(w.score, 0);
    s.join(now(), "dan", None, "tdan".into()).unwrap();
    assert_no_points(&turn(&mut s, &mut board));

    // Another gateway takes the session over mid-question from the durable answers: the
    // answers count (answer-once), their points stay held.
    let (mut r, totals) = restore_copy(&s, &[a.clone(), b], s.epoch(now()));
    assert!(totals.iter().all(|&t| t == 0), "{totals:?}");
    let mut restored_board = Mirror::of(&r);
    for id in r.roster.ids() {
        r.attach(now(), id);
    }
    let w = r.welcome(now(), Some(ann));
    assert!(w.answered);
    assert_eq!(w.score, 0);
    assert_eq!(
        r.answer(now(), ann, 0, &[1], None),
        Err(ErrorCode::AlreadyAnswered)
    );
    assert_no_points(&turn(&mut r, &mut restored_board));

    // Both copies apply ann's points at the close, not before.
    closes_with_the_points(&mut r, &mut restored_board, ann, a.points);
    closes_with_the_points(&mut s, &mut board, ann, a.points);
}

#[test]
fn a_reveal_carries_each_standing_and_the_next_push_repeats_it() {
    let mut s = session(2);
    let ids: Vec<u64> = ["ann", "bob", "cy", "dan"]
        .into_iter()
        .map(|n| {
            let id = s.join(now(), n, None, format!("t{n}")).unwrap();
            s.attach(now(), id);
            id
        })
        .collect();
    s.take_effects();
    settle(&mut s);
    s.start(now()).unwrap();
    // ann right first, bob right later (fewer points), cy wrong, dan silent.
    let a = answer(&mut s, ids[0], 0, &[1]).unwrap();
    advance(Duration::from_millis(4_000));
    let b = answer(&mut s, ids[1], 0, &[1]).unwrap();
    let c = answer(&mut s, ids[2], 0, &[0]).unwrap();
    s.commit(now(), vec![a, b, c]);
    s.take_effects();
    advance(Duration::from_millis(10));
    s.skip(now()).unwrap();
    let fx = s.take_effects();
    let changed = s.epoch(now());
    let version = s.push_version();
    // (rank, score, percentile, players) by player.
    type Told = HashMap<u64, (Option<u64>, i64, Option<u32>, Option<u32>)>;
    let told: Told = sends(&fx)
        .into_iter()
        .filter_map(|(t, m)| match (t, m) {
            (
                Target::Player(p),
                ServerMsg::Reveal {
                    result: Some(r),
                    version: v,
                    changed_at,
                    ..
                },
            ) => {
                assert_eq!((*v, *changed_at), (version, changed), "{m:?}");
                Some((p, (r.rank, r.score, r.percentile, r.players)))
            }
            _ => None,
        })
        .collect();
    // Exactly what the board says (and what a rank frame would say).
    let board: Told = s
        .board_standings()
        .into_iter()
        .map(|(p, b)| {
            (
                p,
                (Some(b.rank), b.score, Some(b.percentile), Some(b.players)),
            )
        })
        .collect();
    assert_eq!(told, board);
    let ranks: Vec<(Option<u64>, Option<u32>)> =
        ids.iter().map(|p| (told[p].0, told[p].2)).collect();
    assert_eq!(
        ranks,
        vec![
            (Some(1), Some(100)),
            (Some(2), Some(66)),
            (Some(3), Some(0)),
            (Some(3), Some(0))
        ]
    );
    assert!(told.values().all(|t| t.3 == Some(4)));
    // The host's reveal has the version too.
    assert!(sends(&fx).iter().any(|(t, m)| *t == Target::Host
        && matches!(m, ServerMsg::Reveal { result: None, version: v, .. } if *v == version)));
    // The next push: the new top list for everyone and each player's rank frame with the
    // standing the reveal told (clients that predate the reveal's standing read it there),
    // under a newer version.
    let mut got = Served::default();
    assert!(s.push_due(now()));
    s.push(now());
    let fx = s.take_effects();
    for (t, m) in sends(&fx) {
        match (t, m) {
            (
                Target::Player(p),
                ServerMsg::Leaderboard {
                    version: v, top, ..
                },
            ) => {
                assert_eq!(*v, version + 1);
                assert_eq!(top[0].player_id, ids[0]);
                got.players.entry(p).or_default().0 += 1;
            }
            (
                Target::Player(p),
                ServerMsg::Rank {
                    version: v,
                    rank,
                    score,
                    percentile,
                    players,
                    ..
                },
            ) => {
                assert_eq!(*v, version + 1);
                assert_eq!(
                    told[&p],
                    (Some(*rank), *score, Some(*percentile), Some(*players))
                );
                got.players.entry(p).or_default().1 += 1;
            }
            (Target::Host, ServerMsg::Leaderboard { .. }) => got.host_tops += 1,
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(got.players.len(), ids.len());
    assert!(got.players.values().all(|&c| c == (1, 1)));
    assert_eq!(got.host_tops, 1);
    // Something changes after the reveal (one more player): rank frames again.
    advance(Duration::from_millis(250));
    add_players(&mut s, 10, 1);
    let mut later = Served::default();
    let ranks = serve(&mut s, &mut later);
    assert_eq!(ranks.len(), ids.len() + 1);
    assert!(ranks
        .values()
        .all(|m| matches!(m, ServerMsg::Rank { players: 5, version: v, .. } if *v == version + 2)));
}

/// The standing each player's reveal told: (rank, score, percentile, players).
fn reveal_standings(fx: &[Effect]) -> HashMap<u64, (u64, i64, u32, u32)> {
    sends(fx)
        .into_iter()
        .filter_map(|(t, m)| match (t, m) {
            (
                Target::Player(p),
                ServerMsg::Reveal {
                    result: Some(r), ..
                },
            ) => Some((p, (r.rank?, r.score, r.percentile?, r.players?))),
            _ => None,
        })
        .collect()
}

#[test]
fn a_connection_that_reads_the_reveal_standing_gets_no_rank_frame_repeating_it() {
    let declared = Capabilities {
        reads_reveal_standing: true,
    };
    let mut s = session(3);
    // ann and bob declare it; cy and dan are older clients.
    let ids: Vec<u64> = ["ann", "bob", "cy", "dan"]
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let id = s.join(now(), n, None, format!("t{n}")).unwrap();
            if i < 2 {
                s.attach_with(now(), id, declared);
            } else {
                s.attach(now(), id);
            }
            id
        })
        .collect();
    let (ann, bob, cy, dan) = (ids[0], ids[1], ids[2], ids[3]);
    s.take_effects();
    settle(&mut s);
    s.start(now()).unwrap();
    // ann and cy right, bob wrong, dan silent: the points move ranks and scores.
    let a = answer(&mut s, ann, 0, &[1]).unwrap();
    let b = answer(&mut s, bob, 0, &[0]).unwrap();
    let c = answer(&mut s, cy, 0, &[1]).unwrap();
    s.commit(now(), vec![a, b, c]);
    s.take_effects();
    advance(Duration::from_millis(10));
    s.skip(now()).unwrap();
    let fx = s.take_effects();
    let told = reveal_standings(&fx);
    assert_eq!(told.len(), 4);
    let version = s.push_version();

    // The push after it: the new top list for all four; the rank frame that repeats the
    // reveal only for cy and dan, with exactly the reveal's standing.
    let mut got = Served::default();
    let ranks = serve(&mut s, &mut got);
    assert_eq!(got.host_tops, 1);
    assert!(ids.iter().all(|p| got.players[p].0 == 1), "{got:?}");
    let mut to: Vec<u64> = ranks.keys().copied().collect();
    to.sort_unstable();
    assert_eq!(to, vec![cy, dan]);
    for (p, m) in &ranks {
        let ServerMsg::Rank {
            version: v,
            rank,
            score,
            percentile,
            players,
            ..
        } = m
        else {
            panic!("{m:?}")
        };
        assert_eq!(*v, version + 1);
        assert_eq!(told[p], (*rank, *score, *percentile, *players));
    }

    // A standing that changes after the reveal (one more player: every count moves) is sent
    // to everyone, declared or not.
    advance(Duration::from_millis(250));
    add_players(&mut s, 10, 1);
    let ranks = serve(&mut s, &mut Served::default());
    assert_eq!(ranks.len(), ids.len() + 1);
    assert!(ranks
        .values()
        .all(|m| matches!(m, ServerMsg::Rank { players: 5, version: v, .. } if *v == version + 2)));

    // Capabilities are per connection: ann comes back on a connection that declares nothing,
    // bob on one that declares it again.
    s.detach(ann);
    s.detach(bob);
    s.attach(now(), ann);
    s.attach_with(now(), bob, declared);
    s.take_effects();
    advance(Duration::from_millis(250));
    settle(&mut s);
    // Question 1 opens after the reveal time; nobody answers it.
    advance(Duration::from_millis(3_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    s.take_effects();
    advance(Duration::from_millis(10));
    s.skip(now()).unwrap();
    let told = reveal_standings(&s.take_effects());
    assert_eq!(told.len(), 5);
    // Nobody scored: the board did not change, so no rank frame goes out.
    s.push(now());
    assert!(!sends(&s.take_effects())
        .iter()
        .any(|(_, m)| matches!(m, ServerMsg::Rank { .. })));
    // A later change (a player leaves) reaches everyone still there.
    let gone = *s.roster.ids().last().unwrap();
    s.remove(now(), gone).unwrap();
    s.take_effects();
    advance(Duration::from_millis(250));
    let ranks = serve(&mut s, &mut Served::default());
    assert!(ids.iter().all(|p| ranks.contains_key(p)), "{ranks:?}");

    // Question 2: ann (now undeclared) gets the repeat, bob (declared again) does not.
    advance(Duration::from_millis(3_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    let a = answer(&mut s, ann, 2, &[1]).unwrap();
    let b = answer(&mut s, bob, 2, &[1]).unwrap();
    s.commit(now(), vec![a, b]);
    s.take_effects();
    advance(Duration::from_millis(10));
    s.skip(now()).unwrap();
    let told = reveal_standings(&s.take_effects());
    advance(Duration::from_millis(250));
    let ranks = serve(&mut s, &mut Served::default());
    let mut to: Vec<u64> = ranks.keys().copied().collect();
    to.sort_unstable();
    assert_eq!(to, vec![ann, cy, dan]);
    assert!(matches!(
        ranks[&ann],
        ServerMsg::Rank { rank, score, percentile, players, .. }
            if told[&ann] == (rank, score, percentile, players)
    ));
}
