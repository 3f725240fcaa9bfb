//! A bot player: joins a live session as a guest, answers every question and reports its
//! points, its rank as it changes and its final standing. The SDK reconnects and resumes by
//! itself if the connection drops (same player, same score).
//!
//! ```sh
//! cargo run -p livequiz-sdk --example bot_player -- http://127.0.0.1:8080 123456 bot-1
//! ```
//!
//! See the `host_game` example for a session to join. A bot cannot know the right answer; this
//! one picks a choice at random (a question with several correct choices needs all of them, so
//! the bot rarely scores on those).

use livequiz_sdk::live::{
    Credentials, LiveClient, LiveError, LiveEvent, Phase, QuestionView, ServerMsg, Standing,
    Welcome,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A random choice index below `n` (std's `RandomState` draws fresh keys per call, so no
/// random-number crate is needed).
fn pick(n: u32, salt: u64) -> u32 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(salt) % u64::from(n.max(1))) as u32
}

/// Answers `q` with a random choice.
fn answer(live: &LiveClient, q: &QuestionView) -> Result<(), LiveError> {
    let choice = pick(q.choices.len() as u32, u64::from(q.index));
    live.answer(q.index, vec![choice], Some(u64::from(q.index)))
}

/// A welcome (on joining or after a reconnect) can arrive while a question is open: it carries
/// that question instead of a separate frame.
fn answer_open(live: &LiveClient, w: &Welcome) -> Result<(), LiveError> {
    match &w.question {
        Some(q) if w.phase == Phase::Question && !w.answered => answer(live, q),
        _ => Ok(()),
    }
}

/// Plays one session to the end; returns the bot's final standing (`None` if the session ended
/// without one, e.g. the host closed it in the lobby).
pub async fn play(
    base_url: &str,
    code: &str,
    nickname: &str,
) -> Result<Option<Standing>, BoxError> {
    let mut live = LiveClient::connect(base_url, code, Credentials::Guest(nickname.into())).await?;
    let me = live.welcome().player_id;
    println!("{nickname}: joined as player {me:?}");
    answer_open(&live, &live.welcome().clone())?;
    while let Some(event) = live.next().await {
        match event {
            LiveEvent::Message(ServerMsg::Question(q)) => answer(&live, &q)?,
            LiveEvent::Message(ServerMsg::AnswerAck {
                question,
                elapsed_ms,
                ..
            }) => {
                println!(
                    "{nickname}: answer to question {} taken after {elapsed_ms} ms",
                    question + 1
                );
            }
            LiveEvent::Message(ServerMsg::Reveal {
                result: Some(r), ..
            }) => {
                println!(
                    "{nickname}: {} (+{} points, {} in total)",
                    if r.correct { "right" } else { "wrong" },
                    r.points,
                    r.score
                );
                // The standing after the question comes with the reveal (older gateways send
                // it in the next `rank` frame instead).
                if let (Some(rank), Some(players)) = (r.rank, r.players) {
                    println!("{nickname}: now #{rank} of {players}");
                }
            }
            LiveEvent::Message(ServerMsg::Rank { rank, players, .. }) => {
                println!("{nickname}: now #{rank} of {players}");
            }
            LiveEvent::Message(ServerMsg::Finished { you, .. }) => return Ok(you),
            LiveEvent::Message(ServerMsg::Error { code, message, .. }) => {
                // E.g. `too_late`: the answer arrived after the deadline. Nothing changed.
                println!("{nickname}: refused: {code:?}: {message}");
            }
            LiveEvent::Reconnected(w) => {
                println!("{nickname}: resumed with score {}", w.score);
                answer_open(&live, &w)?;
            }
            LiveEvent::Closed { code, reason } => {
                return Err(format!("closed ({code:?}): {reason}").into());
            }
            _ => {}
        }
    }
    Ok(None)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, code, nickname] = args.as_slice() else {
        return Err("usage: bot_player <base-url> <join-code> <nickname>".into());
    };
    match play(base, code, nickname).await? {
        Some(s) => println!("{nickname}: finished #{} with {} points", s.rank, s.score),
        None => println!("{nickname}: the session ended"),
    }
    Ok(())
}
