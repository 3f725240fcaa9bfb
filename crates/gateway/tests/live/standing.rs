//! The `rank` frame after a reveal, over real WebSockets: a connection whose first frame
//! declares `reads_reveal_standing` gets no `rank` frame repeating its reveal's standing (it
//! still gets a changed standing), a client whose first frame is as before gets the repeat.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use livequiz_sdk::live::{ClientMsg, Credentials, LiveClient, ServerMsg};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{connect_to, wait_msg, Ctx};

/// A player on a bare WebSocket: exactly the first frame it is given, every frame it gets.
pub struct RawPlayer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Its player id, from the welcome.
    pub id: u64,
}

impl RawPlayer {
    /// Joins session `code` at `base` as guest `nickname`, with `extra` fields in the first
    /// frame (`{}`: the frame of a client that predates capabilities).
    pub async fn join(base: &str, code: &str, nickname: &str, extra: serde_json::Value) -> Self {
        let url = format!("{}/v1/live/ws?code={code}", base.replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("websocket upgrade");
        let mut hello = serde_json::json!({ "type": "join", "nickname": nickname });
        for (k, v) in extra.as_object().expect("an object of extra fields") {
            hello[k] = v.clone();
        }
        ws.send(Message::text(hello.to_string()))
            .await
            .expect("send hello");
        let mut p = RawPlayer { ws, id: 0 };
        match p.next().await {
            ServerMsg::Welcome(w) => p.id = w.player_id.expect("a player id"),
            other => panic!("expected a welcome, got {other:?}"),
        }
        p
    }

    /// The next server frame (within 10 s).
    pub async fn next(&mut self) -> ServerMsg {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame within 10 s")
                .expect("the connection is open")
                .expect("a frame");
            if let Message::Text(t) = msg {
                return serde_json::from_str(t.as_str()).expect("a server frame");
            }
        }
    }

    /// Sends a client message.
    pub async fn send(&mut self, msg: &ClientMsg) {
        let text = serde_json::to_string(msg).expect("serialise");
        self.ws.send(Message::text(text)).await.expect("send");
    }
}

/// (rank, score, percentile, players) of a reveal's result or of a rank frame.
type Standing = (u64, i64, u32, u32);

/// What one player saw from question 0's reveal up to its first `rank` frame counting
/// `players` players: the reveal's standing and version, the rank frames before that one,
/// and whether a top list newer than the reveal came.
#[derive(Debug, Default)]
struct Seen {
    reveal: Option<(Standing, u64)>,
    ranks_between: Vec<(Standing, u64)>,
    newer_top: bool,
}

/// Folds one frame into `seen`; true once the `rank` frame counting `players` came.
fn see(seen: &mut Seen, m: &ServerMsg, players_after: u32) -> bool {
    match m {
        ServerMsg::Reveal {
            result: Some(r),
            version,
            ..
        } if seen.reveal.is_none() => {
            let s = (
                r.rank.expect("rank"),
                r.score,
                r.percentile.expect("percentile"),
                r.players.expect("players"),
            );
            seen.reveal = Some((s, *version));
        }
        ServerMsg::Leaderboard { version, .. } => {
            if let Some((_, v)) = seen.reveal {
                seen.newer_top |= *version > v;
            }
        }
        ServerMsg::Rank {
            version,
            rank,
            score,
            percentile,
            players,
            ..
        } if seen.reveal.is_some() => {
            if *players == players_after {
                return true;
            }
            seen.ranks_between
                .push(((*rank, *score, *percentile, *players), *version));
        }
        _ => {}
    }
    false
}

/// Reads a raw player's frames until the first push after its reveal reached it (a newer top
/// list: every player's changed, the points moved it).
async fn raw_until_pushed(p: &mut RawPlayer, seen: &mut Seen, players_after: u32) {
    while !seen.newer_top {
        let m = p.next().await;
        assert!(!see(seen, &m, players_after), "{m:?}");
    }
}

/// The same through the SDK client.
async fn sdk_until_pushed(c: &mut LiveClient, seen: &mut Seen, players_after: u32) {
    while !seen.newer_top {
        let m = wait_msg(c, "the push after the reveal", |m| Some(m.clone())).await;
        assert!(!see(seen, &m, players_after), "{m:?}");
    }
}

/// The scenario: the host on `host_base`, three players on `player_base` (the same gateway,
/// or another one that bridges them to the owner): ann declares the capability on a bare
/// socket, bob sends the first frame of an older client, cy is the SDK's `LiveClient` (which
/// declares it). All three score on question 0. After its reveal the push repeats the
/// standing to bob only; then dan joins, which changes everyone's standing (the player
/// count), and that `rank` frame reaches all three.
pub async fn reveal_standing_repeats_only_to_connections_that_did_not_declare(
    host_base: &str,
    player_base: &str,
    code: &str,
    host_token: &str,
) {
    let host = connect_to(host_base, code, Credentials::Host(host_token.into())).await;
    let declared = serde_json::json!({ "reads_reveal_standing": true });
    let mut ann = RawPlayer::join(player_base, code, "ann", declared).await;
    let mut bob = RawPlayer::join(player_base, code, "bob", serde_json::json!({})).await;
    let mut cy = connect_to(player_base, code, Credentials::Guest("cy".into())).await;
    host.send(ClientMsg::Start).unwrap();

    // Everyone answers question 0 right (the reveal follows the last answer).
    let answer = ClientMsg::Answer {
        question: 0,
        choices: vec![1],
        req: None,
    };
    for p in [&mut ann, &mut bob] {
        while !matches!(p.next().await, ServerMsg::Question(q) if q.index == 0) {}
        p.send(&answer).await;
    }
    wait_msg(&mut cy, "question 0 (cy)", |m| match m {
        ServerMsg::Question(q) if q.index == 0 => Some(()),
        _ => None,
    })
    .await;
    cy.answer(0, vec![1], None).unwrap();

    // Up to the first push after the reveal, for each of them.
    let mut seen: [Seen; 3] = Default::default();
    raw_until_pushed(&mut ann, &mut seen[0], 4).await;
    raw_until_pushed(&mut bob, &mut seen[1], 4).await;
    sdk_until_pushed(&mut cy, &mut seen[2], 4).await;
    for s in &seen {
        let (standing, _) = s.reveal.expect("a reveal");
        assert!(standing.1 > 0, "scored on question 0: {s:?}");
        assert_eq!(standing.3, 3, "{s:?}");
    }

    // A change after the reveal: dan joins, every standing counts 4 players.
    let _dan = RawPlayer::join(player_base, code, "dan", serde_json::json!({})).await;
    for (i, p) in [&mut ann, &mut bob].into_iter().enumerate() {
        loop {
            let m = p.next().await;
            if see(&mut seen[i], &m, 4) {
                break;
            }
        }
    }
    loop {
        let m = wait_msg(&mut cy, "the rank frame counting dan", |m| Some(m.clone())).await;
        if see(&mut seen[2], &m, 4) {
            break;
        }
    }

    // ann and cy declared: no rank frame between the reveal and the changed standing. bob
    // did not: exactly the repeat of his reveal's standing, under a newer version.
    assert!(seen[0].ranks_between.is_empty(), "ann: {:?}", seen[0]);
    assert!(seen[2].ranks_between.is_empty(), "cy: {:?}", seen[2]);
    let (standing, version) = seen[1].reveal.unwrap();
    match seen[1].ranks_between.as_slice() {
        [(repeat, v)] => {
            assert_eq!(*repeat, standing);
            assert!(*v > version, "bob: {:?}", seen[1]);
        }
        other => panic!("bob gets exactly the repeated rank frame: {other:?}"),
    }
    host.close();
}

/// The scenario on one gateway; and a capability that is not a boolean is refused like a bad
/// first frame, saying why.
pub async fn reveal_standing_repeat_is_opt_out(ctx: &Ctx) {
    let s = ctx.session(2_000).await;
    let base = ctx.server.base_url.as_str();
    let url = format!(
        "{}/v1/live/ws?code={}",
        base.replacen("http", "ws", 1),
        s.code
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("websocket upgrade");
    let hello = r#"{"type":"join","nickname":"eve","reads_reveal_standing":"yes"}"#;
    ws.send(Message::text(hello)).await.expect("send hello");
    let mut error = None;
    let closed = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer to the hello")
            .expect("a close frame")
            .expect("a frame");
        match msg {
            Message::Text(t) => error = Some(serde_json::from_str::<ServerMsg>(t.as_str())),
            Message::Close(f) => break f.map(|f| u16::from(f.code)),
            _ => {}
        }
    };
    match error {
        Some(Ok(ServerMsg::Error { code, message, .. })) => {
            assert_eq!(code, livequiz_sdk::live::ErrorCode::BadMessage);
            assert!(message.contains("reads_reveal_standing"), "{message}");
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    assert_eq!(closed, Some(livequiz_sdk::live::close::JOIN_REFUSED));
    reveal_standing_repeats_only_to_connections_that_did_not_declare(
        base,
        base,
        &s.code,
        &s.host_token,
    )
    .await;
}
