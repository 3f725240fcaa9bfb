//! Join rules and lifetime of a session: cap, lock, ban, two-step pattern,
//! nickname rules, lobby expiry, maximum lifetime, and their survival
//! through a restore. Time is passed in.

use std::sync::Arc;
use std::time::Duration;

use crate::testing::{advance, now, SEED};
use livequiz_sdk::live::{close, ErrorCode, FinishReason, Phase, ScoringRules, ServerMsg};

use crate::effects::{Effect, Target};
use crate::guard::{JoinRules, Lifetime};
use crate::nickname::NicknameFilter;
use crate::pattern::{GRACE, ROTATION};
use crate::quiz::{LiveQuestion, LiveQuiz};
use crate::restore::SessionMeta;
use crate::session::Session;

fn quiz() -> Arc<LiveQuiz> {
    let q = |i: i64| LiveQuestion {
        question_id: i,
        text: format!("q{i}"),
        choices: vec!["a".into(), "b".into()],
        correct: vec![1],
        time_limit_ms: 10_000,
    };
    Arc::new(LiveQuiz {
        quiz_id: 1,
        questions: vec![q(1), q(2)],
        rules: ScoringRules::default(),
        reveal_ms: 1_000,
        top_n: 10,
        hide_text_on_devices: false,
    })
}

fn session(rules: JoinRules) -> Session {
    let t = now();
    Session::new(7, "123456".into(), quiz(), t, 1_000_000, SEED).with_join_rules(rules, t)
}

fn rules() -> JoinRules {
    JoinRules::default()
}

fn join(s: &mut Session, nick: &str, account: Option<i64>) -> Result<u64, ErrorCode> {
    s.join(now(), nick, account, format!("t-{nick}"))
}

/// Sends the due leaderboard push, so that `next_wakeup` shows the other timers.
fn settle(s: &mut Session) {
    s.push(now());
    s.take_effects();
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
fn the_cap_refuses_new_players_but_not_returning_accounts() {
    let mut s = session(JoinRules {
        max_players: 2,
        ..rules()
    });
    let ann = join(&mut s, "ann", Some(1)).unwrap();
    join(&mut s, "bob", None).unwrap();
    assert_eq!(join(&mut s, "cy", None), Err(ErrorCode::SessionFull));
    assert_eq!(join(&mut s, "ann again", Some(1)), Ok(ann), "a rejoin");
    s.remove(now(), ann).unwrap();
    assert!(
        join(&mut s, "cy", None).is_ok(),
        "a removed player frees a seat"
    );
}

#[test]
fn a_locked_session_refuses_joins_and_lets_players_resume() {
    let mut s = session(rules());
    let ann = join(&mut s, "ann", Some(1)).unwrap();
    s.take_effects();
    s.set_locked(true).unwrap();
    assert!(host_frames(&s.take_effects()).contains(&&ServerMsg::JoinsLocked { locked: true }));
    assert!(s.welcome(now(), None).locked);
    assert_eq!(join(&mut s, "bob", None), Err(ErrorCode::Locked));
    assert_eq!(s.resume("t-ann"), Ok(ann));
    assert_eq!(join(&mut s, "ann", Some(1)), Ok(ann), "an account rejoins");
    assert!(s.phase_checkpoint().locked);
    s.set_locked(false).unwrap();
    assert!(join(&mut s, "bob", None).is_ok());
    s.end(now()).unwrap();
    assert_eq!(s.set_locked(true), Err(ErrorCode::Finished));
}

#[test]
fn a_ban_keeps_the_account_and_token_out_and_remove_does_not() {
    let mut s = session(rules());
    let eve = join(&mut s, "eve", Some(5)).unwrap();
    let mal = join(&mut s, "mal", None).unwrap();
    let kim = join(&mut s, "kim", Some(6)).unwrap();
    s.take_effects();
    let rec = s.ban(now(), eve).unwrap();
    assert!(rec.banned && rec.account_id == Some(5) && rec.resume_token == "t-eve");
    let fx = s.take_effects();
    assert!(fx.contains(&Effect::Close(Target::Player(eve), close::REMOVED)));
    assert!(fx.contains(&Effect::Unscore(eve)));
    assert!(host_frames(&fx).iter().any(
        |m| matches!(m, ServerMsg::Roster { player_id, event, .. } if *player_id == eve && event == "banned")
    ));
    assert_eq!(join(&mut s, "eve2", Some(5)), Err(ErrorCode::Banned));
    assert_eq!(s.resume("t-eve"), Err(ErrorCode::Banned));
    s.ban(now(), mal).unwrap();
    assert_eq!(s.resume("t-mal"), Err(ErrorCode::Banned));
    // A guest is known by its token only: a new connection and nickname get in.
    assert!(join(&mut s, "mal2", None).is_ok());
    assert_eq!(s.ban(now(), mal), Err(ErrorCode::UnknownPlayer));
    // Remove is a kick: the token dies, the account may come back as a new player.
    s.remove(now(), kim).unwrap();
    assert_eq!(s.resume("t-kim"), Err(ErrorCode::BadResumeToken));
    let again = join(&mut s, "kim", Some(6)).unwrap();
    assert_ne!(again, kim);
}

#[test]
fn two_step_joins_need_the_current_or_just_replaced_pattern() {
    let mut s = session(JoinRules {
        two_step: true,
        ..rules()
    });
    let t0 = now();
    let Some(ServerMsg::JoinPattern {
        pattern: first,
        expires_at,
    }) = s.pattern_frame()
    else {
        panic!("a two-step session has a pattern");
    };
    assert_eq!(expires_at, 1_000_000 + ROTATION.as_millis() as i64);
    assert_eq!(s.next_wakeup(), Some(t0 + ROTATION));
    let tok = |n: &str| format!("t-{n}");
    assert_eq!(
        s.join_with(t0, "ann", None, None, tok("ann")),
        Err(ErrorCode::BadPattern)
    );
    assert_eq!(
        s.join_with(t0, "ann", None, Some("0000"), tok("ann")),
        Err(ErrorCode::BadPattern)
    );
    assert!(s
        .join_with(t0, "ann", None, Some(&first), tok("ann"))
        .is_ok());
    advance(ROTATION);
    let t1 = now();
    s.take_effects();
    s.tick(t1);
    let fx = s.take_effects();
    let second = host_frames(&fx)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::JoinPattern { pattern, .. } => Some(pattern.clone()),
            _ => None,
        })
        .expect("the host gets the new pattern");
    assert_ne!(first, second);
    assert!(s
        .join_with(t1, "bob", None, Some(&first), tok("bob"))
        .is_ok());
    let late = t1 + GRACE;
    assert_eq!(
        s.join_with(late, "cy", None, Some(&first), tok("cy")),
        Err(ErrorCode::BadPattern)
    );
    assert!(s
        .join_with(late, "cy", None, Some(&second), tok("cy"))
        .is_ok());
    // A returning account needs no pattern.
    let dan = s
        .join_with(late, "dan", Some(3), Some(&second), tok("dan"))
        .unwrap();
    assert_eq!(
        s.join_with(late, "dan", Some(3), None, tok("dan2")),
        Ok(dan)
    );
}

#[test]
fn nicknames_are_generated_or_filtered_when_the_host_asks() {
    let mut gen = session(JoinRules {
        generated_nicknames: true,
        ..rules()
    });
    let mut names = std::collections::HashSet::new();
    for (i, asked) in ["", "Sh1t", "ann", "ann", "\u{7}"].iter().enumerate() {
        let id = gen.join(now(), asked, None, format!("t{i}")).unwrap();
        let nick = gen.roster.get(id).unwrap().nickname.clone();
        assert_ne!(&nick, asked);
        assert!(names.insert(nick.to_lowercase()), "{nick}");
    }
    let filtered = |on: bool| {
        session(JoinRules {
            nickname_filter: on,
            ..rules()
        })
        .with_filter(Arc::new(NicknameFilter::new(&["grumpkin".into()])))
    };
    let mut on = filtered(true);
    assert_eq!(join(&mut on, "Sh1t", None), Err(ErrorCode::BadNickname));
    assert_eq!(join(&mut on, "Grumpk1n", None), Err(ErrorCode::BadNickname));
    assert!(join(&mut on, "Classic Ann", None).is_ok());
    let mut off = filtered(false);
    assert!(join(&mut off, "Grumpkin", None).is_ok());
}

const LIFE: Lifetime = Lifetime {
    lobby_idle: Duration::from_secs(30),
    max: Duration::from_secs(600),
};

#[test]
fn an_idle_lobby_finishes_and_host_activity_keeps_it() {
    let t0 = now();
    let mut s = session(rules()).with_lifetime(LIFE);
    join(&mut s, "ann", None).unwrap();
    settle(&mut s);
    assert_eq!(s.next_wakeup().map(|w| w - t0), Some(LIFE.lobby_idle));
    advance(Duration::from_secs(20));
    s.host_active(now());
    advance(Duration::from_secs(29));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Lobby, "the host was there 29 s ago");
    advance(Duration::from_secs(1));
    s.take_effects();
    s.tick(now());
    assert_eq!(s.phase(), Phase::Finished);
    assert!(s.take_effects().contains(&Effect::Finished));
    assert_eq!(s.finish_reason(), Some(FinishReason::LobbyIdle));
    assert_eq!(s.next_wakeup(), None);
    s.finished_frames();
    let fx = s.take_effects();
    assert!(host_frames(&fx).iter().any(|m| matches!(
        m,
        ServerMsg::Finished {
            reason: Some(FinishReason::LobbyIdle),
            ..
        }
    )));
}

#[test]
fn the_maximum_lifetime_ends_a_game_after_its_pending_answers() {
    let t0 = now();
    let mut s = session(rules()).with_lifetime(LIFE);
    let ann = join(&mut s, "ann", None).unwrap();
    join(&mut s, "bob", None).unwrap();
    s.start(t0).unwrap();
    advance(LIFE.max - Duration::from_secs(5));
    // Question 0 timed out long ago; the second one is open.
    s.tick(now());
    advance(Duration::from_millis(1_000));
    s.tick(now());
    assert_eq!(s.phase(), Phase::Question);
    let pending = s.answer(now(), ann, 1, &[1], None).unwrap();
    advance(Duration::from_secs(4));
    let at_max = now();
    settle(&mut s);
    assert_eq!(s.next_wakeup(), Some(t0 + LIFE.max));
    s.tick(at_max);
    assert_eq!(
        s.phase(),
        Phase::Question,
        "the accepted answer is not durable yet"
    );
    settle(&mut s);
    assert!(
        s.next_wakeup().is_none_or(|w| w > at_max),
        "no busy loop while the reveal waits"
    );
    s.take_effects();
    s.commit(now(), vec![pending]);
    assert_eq!(s.phase(), Phase::Finished);
    assert_eq!(s.finish_reason(), Some(FinishReason::MaxDuration));
    assert!(s.take_effects().iter().any(|e| matches!(
        e,
        Effect::Send(Target::Player(p), ServerMsg::Reveal { result: Some(r), .. }) if *p == ann && r.points > 0
    )));
}

#[test]
fn a_restored_session_keeps_its_rules_lock_bans_and_age() {
    let join_rules = JoinRules {
        max_players: 2,
        two_step: true,
        generated_nicknames: false,
        nickname_filter: true,
    };
    let t0 = now();
    let mut s = session(join_rules);
    let pattern = |s: &Session| match s.pattern_frame() {
        Some(ServerMsg::JoinPattern { pattern, .. }) => pattern,
        _ => panic!("no pattern"),
    };
    let p = pattern(&s);
    let eve = s
        .join_with(t0, "eve", Some(5), Some(&p), "t-eve".into())
        .unwrap();
    let ann = s
        .join_with(t0, "ann", None, Some(&p), "t-ann".into())
        .unwrap();
    let banned = s.ban(t0, eve).unwrap();
    s.set_locked(true).unwrap();
    let mut players: Vec<_> = [ann]
        .iter()
        .filter_map(|&id| s.player_record(id, 1_000_000))
        .collect();
    players.push(banned);
    let meta = SessionMeta {
        session_id: s.id,
        code: s.code.clone(),
        host_token: "host".into(),
        quiz: (*quiz()).clone(),
        join: s.join_rules(),
        created_at: 1_000_000,
        hostless: None,
    };
    // Another gateway takes over 50 s later (server time 1,050,000).
    advance(Duration::from_secs(50));
    let t = now();
    let (r, _) = Session::restore(meta, players, s.phase_checkpoint(), &[], t, 1_050_000, SEED);
    let mut r = r.with_lifetime(Lifetime {
        lobby_idle: Duration::from_secs(3_600),
        max: Duration::from_secs(60),
    });
    assert_eq!(r.join_rules(), join_rules);
    assert!(r.locked());
    assert_eq!(r.resume("t-eve"), Err(ErrorCode::Banned));
    assert_eq!(r.resume("t-ann"), Ok(ann));
    let fresh = pattern(&r);
    assert_eq!(
        r.join_with(t, "x", Some(5), Some(&fresh), "t2".into()),
        Err(ErrorCode::Banned)
    );
    r.set_locked(false).unwrap();
    let cy = r
        .join_with(t, "cy", None, Some(&fresh), "t-cy".into())
        .unwrap();
    assert!(cy > eve, "banned ids are not reused");
    assert_eq!(
        r.join_with(t, "dan", None, Some(&fresh), "t-dan".into()),
        Err(ErrorCode::SessionFull)
    );
    // 60 s from the original creation, not from the takeover.
    assert!(r
        .next_wakeup()
        .is_some_and(|w| w <= t0 + Duration::from_secs(60)));
    advance(Duration::from_secs(10));
    r.tick(now());
    assert_eq!(r.phase(), Phase::Finished);
    assert_eq!(r.finish_reason(), Some(FinishReason::MaxDuration));
}
