//! Hosts a live quiz from code: builds a quiz from the account's questions, opens a session,
//! prints the join code, waits for players, starts, follows every question (answer counts, the
//! reveal) and prints the final standings and the stored report.
//!
//! ```sh
//! cargo run -p gateway &
//! cargo run -p livequiz-sdk --example import_questions -- http://127.0.0.1:8080 ada 'correct horse 1'
//! cargo run -p livequiz-sdk --example host_game -- http://127.0.0.1:8080 ada 'correct horse 1' 2
//! # in two more shells, with the code it printed:
//! cargo run -p livequiz-sdk --example bot_player -- http://127.0.0.1:8080 <code> bot-1
//! cargo run -p livequiz-sdk --example bot_player -- http://127.0.0.1:8080 <code> bot-2
//! ```
//!
//! The last argument is how many players to wait for before starting (default 1). Players can
//! also join from a browser at the gateway's address with the code.

use livequiz_sdk::live::{
    ClientMsg, CreateSession, Credentials, LiveClient, LiveEvent, ServerMsg, Standing,
};
use livequiz_sdk::types::{QuestionFilter, QuizInput, QuizItemInput};
use livequiz_sdk::Client;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A quiz of up to `n` of the account's own questions, 10 seconds each.
pub async fn quiz_from_bank(host: &Client, n: u32) -> Result<i64, BoxError> {
    let me = host.me().await?;
    let page = host
        .list_questions(&QuestionFilter {
            author_id: Some(me.id),
            limit: Some(n),
            ..QuestionFilter::default()
        })
        .await?;
    if page.items.is_empty() {
        return Err("the account has no questions: run the import_questions example first".into());
    }
    let quiz = host
        .create_quiz(&QuizInput {
            title: "Hosted from code".into(),
            description: "Made by the livequiz-sdk host_game example".into(),
            questions: page
                .items
                .iter()
                .map(|q| QuizItemInput {
                    question_id: q.id,
                    time_limit_ms: 10_000,
                })
                .collect(),
        })
        .await?;
    Ok(quiz.id)
}

/// Runs one session of `quiz_id` with `players` players and returns its id and the final
/// standings. `on_code` is called with the join code as soon as the session exists.
pub async fn host_session(
    host: &Client,
    quiz_id: i64,
    players: u32,
    on_code: impl FnOnce(&str),
) -> Result<(i64, Vec<Standing>), BoxError> {
    let session = host
        .create_live_session(&CreateSession {
            quiz_id,
            reveal_ms: Some(1_000),
            top_n: Some(10),
            ..CreateSession::default()
        })
        .await?;
    on_code(&session.code);

    let mut live = LiveClient::connect(
        host.base_url(),
        &session.code,
        Credentials::Host(session.host_token.clone()),
    )
    .await?;
    let mut joined = live.welcome().players;
    while joined < players {
        match live.next_message().await {
            Some(ServerMsg::Roster {
                nickname,
                event,
                players: now,
                ..
            }) => {
                println!("{nickname} {event} ({now} players)");
                joined = now;
            }
            Some(_) => {}
            None => return Err("the session closed in the lobby".into()),
        }
    }
    live.send(ClientMsg::Start)?;

    loop {
        let Some(event) = live.next().await else {
            return Err("the connection ended before the session finished".into());
        };
        let msg = match event {
            LiveEvent::Message(msg) => msg,
            // The client reconnects and resumes by itself; the new welcome has the state.
            LiveEvent::Disconnected => {
                println!("connection lost, reconnecting");
                continue;
            }
            LiveEvent::Reconnected(w) => {
                println!("reconnected in phase {:?}", w.phase);
                continue;
            }
            LiveEvent::Closed { code, reason } => {
                return Err(format!("closed ({code:?}): {reason}").into());
            }
            // Events a newer SDK may add.
            _ => continue,
        };
        match msg {
            ServerMsg::Question(q) => {
                println!("question {}/{}: {}", q.index + 1, q.total, q.text);
            }
            ServerMsg::AnswerCounts {
                answered, players, ..
            } => {
                println!("  answered {answered} of {players}");
            }
            ServerMsg::Reveal {
                correct, counts, ..
            } => {
                println!("  correct: {correct:?}, answers per choice: {counts:?}");
            }
            ServerMsg::Leaderboard { top, .. } => {
                let line: Vec<String> = top
                    .iter()
                    .map(|s| format!("#{} {} {}", s.rank, s.nickname, s.score))
                    .collect();
                println!("  leaderboard: {}", line.join(", "));
            }
            ServerMsg::Finished { top, reason, .. } => {
                println!("finished ({reason:?})");
                return Ok((session.session_id, top));
            }
            ServerMsg::Error { code, message, .. } => {
                return Err(format!("the gateway refused a command: {code:?}: {message}").into());
            }
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, user, password, rest @ ..] = args.as_slice() else {
        return Err("usage: host_game <base-url> <username> <password> [<players>]".into());
    };
    let players: u32 = rest.first().map(|p| p.parse()).transpose()?.unwrap_or(1);
    let host = Client::new(base)?.login(user, password).await?;
    let quiz_id = quiz_from_bank(&host, 5).await?;
    let (session_id, standings) = host_session(&host, quiz_id, players, |code| {
        println!("join code: {code} (waiting for {players} player(s))");
    })
    .await?;
    for s in &standings {
        println!("#{} {} {}", s.rank, s.nickname, s.score);
    }
    // The session's record stays on the gateway (stored before the final frame is sent).
    let report = host.live_session_report(session_id).await?;
    for q in &report.questions {
        println!("{:>5.1}% right: {}", 100.0 * q.accuracy, q.text);
    }
    Ok(())
}
