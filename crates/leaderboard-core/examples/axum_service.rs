//! A leaderboard HTTP service: leaderboard-core embedded in an axum server, with a snapshot to
//! disk every few seconds and at shutdown, restored when the service starts.
//!
//! ```sh
//! cargo run -p leaderboard-core --example axum_service -- --data-dir ./lb-data --bind 127.0.0.1:3000
//! curl -XPOST 127.0.0.1:3000/boards/global/scores -H 'content-type: application/json' \
//!      -d '{"member":"alice","score":120}'
//! curl '127.0.0.1:3000/boards/global/top?n=10'
//! curl 127.0.0.1:3000/boards/global/members/alice     # rank, score and neighbours
//! ```
//!
//! Stop it with Ctrl-C (it writes a last snapshot) and start it again: the scores are back.
//! `--self-test` does exactly that on 127.0.0.1:0 in a temporary directory and checks the
//! answers (the repository's CI runs it).
//!
//! Durability is the embedder's part: the crate turns boards into bytes
//! ([`Leaderboards::snapshot`]) and back ([`Leaderboards::from_snapshot`]); this service writes
//! the bytes to a temporary file, syncs it and renames it over the previous snapshot, so a crash
//! mid-write leaves the previous snapshot intact. Scores written after the last snapshot are lost
//! in a crash; put a log in front (as the repository's shard nodes do) if they must not be.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leaderboard_core::{BoardConfig, Error, Leaderboards, RankedEntry, Write, WriteOp};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SNAPSHOT_FILE: &str = "leaderboards.snap";

/// Shared by every request handler.
struct App {
    boards: Leaderboards,
    /// Bumped by every applied write; the snapshot task skips a snapshot when it has not moved.
    writes: AtomicU64,
}

#[derive(Deserialize)]
struct ScoreIn {
    member: String,
    score: i64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Row {
    rank: u64,
    member: String,
    score: i64,
}

impl From<RankedEntry> for Row {
    fn from(r: RankedEntry) -> Row {
        Row {
            rank: r.rank,
            member: r.entry.member,
            score: r.entry.score,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ScoreOut {
    rank: u64,
    score: i64,
    top_changed: bool,
}

#[derive(Serialize, Deserialize)]
struct MemberOut {
    rank: u64,
    score: i64,
    around: Vec<Row>,
}

#[derive(Deserialize)]
struct TopQuery {
    n: Option<usize>,
}

/// The crate's errors as HTTP answers: bad input is 400, anything else 500.
struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = if self.0.is_invalid_input() {
            StatusCode::BAD_REQUEST
        } else if self.0.is_not_found() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        (status, self.0.to_string()).into_response()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `POST /boards/{board}/scores`: keeps each member's best score (boards are created on first use).
async fn post_score(
    State(app): State<Arc<App>>,
    UrlPath(board): UrlPath<String>,
    Json(body): Json<ScoreIn>,
) -> Result<Json<ScoreOut>, ApiError> {
    let board = app
        .boards
        .get_or_create(board, BoardConfig::default().default_op(WriteOp::Best))
        .map_err(ApiError)?;
    let out = board
        .write(Write::new(body.member, body.score, now_ms()))
        .map_err(ApiError)?;
    if out.changed {
        app.writes.fetch_add(1, Ordering::Relaxed);
    }
    Ok(Json(ScoreOut {
        rank: out.new.rank,
        score: out.new.entry.score,
        top_changed: out.top_changed,
    }))
}

/// `GET /boards/{board}/top?n=10`.
async fn top(
    State(app): State<Arc<App>>,
    UrlPath(board): UrlPath<String>,
    Query(q): Query<TopQuery>,
) -> Result<Json<Vec<Row>>, ApiError> {
    let board = app.boards.require(&board).map_err(ApiError)?;
    let n = q.n.unwrap_or(10).min(1000);
    Ok(Json(board.top(n).into_iter().map(Row::from).collect()))
}

/// `GET /boards/{board}/members/{member}`: rank, score, two neighbours on each side.
async fn member(
    State(app): State<Arc<App>>,
    UrlPath((board, member)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let board = app.boards.require(&board).map_err(ApiError)?;
    let Some(around) = board.around(&member, 2, 2) else {
        return Ok((StatusCode::NOT_FOUND, format!("{member} has no score")).into_response());
    };
    let own = around
        .iter()
        .find(|r| r.entry.member == member)
        .expect("around includes the member");
    let out = MemberOut {
        rank: own.rank,
        score: own.entry.score,
        around: around.into_iter().map(Row::from).collect(),
    };
    Ok(Json(out).into_response())
}

/// Loads the last snapshot, or starts empty when there is none. A snapshot that cannot be read
/// stops the service instead of silently starting without its scores.
fn restore(dir: &Path) -> Result<Leaderboards, BoxError> {
    let path = dir.join(SNAPSHOT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let boards = Leaderboards::from_snapshot(&bytes)
                .map_err(|e| format!("cannot restore {}: {e}", path.display()))?;
            println!(
                "restored {} board(s) from {}",
                boards.ids().len(),
                path.display()
            );
            Ok(boards)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Leaderboards::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
    }
}

/// Writes a snapshot atomically: temporary file, fsync, rename, fsync of the directory.
fn save(boards: &Leaderboards, dir: &Path) -> std::io::Result<usize> {
    let bytes = boards.snapshot();
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(SNAPSHOT_FILE))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(bytes.len())
}

/// Snapshots on a blocking thread (encoding a large board takes a while and must not stall the
/// async workers).
async fn save_now(app: &Arc<App>, dir: &Path) -> Result<(), BoxError> {
    let (app, dir) = (app.clone(), dir.to_path_buf());
    let bytes = tokio::task::spawn_blocking(move || save(&app.boards, &dir)).await??;
    println!("snapshot written ({bytes} bytes)");
    Ok(())
}

/// Runs the service on `listener` until `shutdown` completes, then writes a last snapshot.
async fn serve(
    listener: TcpListener,
    dir: PathBuf,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), BoxError> {
    std::fs::create_dir_all(&dir)?;
    let app = Arc::new(App {
        boards: restore(&dir)?,
        writes: AtomicU64::new(0),
    });

    let snapshots = {
        let (app, dir) = (app.clone(), dir.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut saved_at = 0;
            loop {
                tick.tick().await;
                let writes = app.writes.load(Ordering::Relaxed);
                if writes != saved_at {
                    match save_now(&app, &dir).await {
                        Ok(()) => saved_at = writes,
                        // Keep serving; the next tick tries again.
                        Err(e) => eprintln!("snapshot failed: {e}"),
                    }
                }
            }
        })
    };

    let router = Router::new()
        .route("/boards/{board}/scores", post(post_score))
        .route("/boards/{board}/top", get(top))
        .route("/boards/{board}/members/{member}", get(member))
        .with_state(app.clone());
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;

    snapshots.abort();
    save_now(&app, &dir).await
}

struct Args {
    data_dir: PathBuf,
    bind: SocketAddr,
    every: Duration,
    self_test: bool,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        data_dir: PathBuf::from("./lb-data"),
        bind: "127.0.0.1:3000".parse()?,
        every: Duration::from_secs(5),
        self_test: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data-dir" => args.data_dir = value()?.into(),
            "--bind" => args.bind = value()?.parse()?,
            "--snapshot-every-ms" => args.every = Duration::from_millis(value()?.parse()?),
            "--self-test" => args.self_test = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    if args.self_test {
        return self_test().await;
    }
    let listener = TcpListener::bind(args.bind).await?;
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(listener, args.data_dir, args.every, ctrl_c).await
}

// ---- self-test: what CI runs -------------------------------------------------------------------

/// One HTTP/1.1 request on a fresh connection; returns the status and the body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), BoxError> {
    let mut s = TcpStream::connect(addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).await?;
    let status = resp.get(9..12).ok_or("short response")?.parse()?;
    let body = resp
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

/// Starts the service, writes scores over HTTP, waits for a periodic snapshot, stops it, starts
/// it again from the same directory and checks that every answer came back.
async fn self_test() -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("lb-axum-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let every = Duration::from_millis(100);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let first = tokio::spawn(serve(listener, dir.clone(), every, async {
        let _ = stopped.await;
    }));

    for i in 0..50 {
        let body = format!(r#"{{"member":"player-{i:02}","score":{}}}"#, (i * 37) % 101);
        let (status, _) = http(addr, "POST", "/boards/global/scores", &body).await?;
        assert_eq!(status, 200);
    }
    // A lower score does not replace a best score.
    http(
        addr,
        "POST",
        "/boards/global/scores",
        r#"{"member":"player-07","score":1}"#,
    )
    .await?;
    let (status, bad) = http(
        addr,
        "POST",
        "/boards/global/scores",
        r#"{"member":"","score":1}"#,
    )
    .await?;
    assert_eq!(status, 400, "{bad}");
    let (_, top_before) = http(addr, "GET", "/boards/global/top?n=5", "").await?;
    let (_, me_before) = http(addr, "GET", "/boards/global/members/player-07", "").await?;

    // The periodic snapshot appears without a shutdown.
    let file = dir.join(SNAPSHOT_FILE);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !file.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no periodic snapshot"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    first.await??;

    // Start again from the same directory: the boards are restored.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let second = tokio::spawn(serve(listener, dir.clone(), every, async {
        let _ = stopped.await;
    }));
    let (status, top_after) = http(addr, "GET", "/boards/global/top?n=5", "").await?;
    assert_eq!(status, 200);
    assert_eq!(top_after, top_before);
    let (_, me_after) = http(addr, "GET", "/boards/global/members/player-07", "").await?;
    assert_eq!(me_after, me_before);
    let me: MemberOut = serde_json::from_str(&me_after)?;
    assert_eq!(me.score, (7 * 37) % 101);
    let top: Vec<Row> = serde_json::from_str(&top_after)?;
    println!("after restart: top 5 {top:?}; player-07 is #{}", me.rank);
    let (status, _) = http(addr, "GET", "/boards/nope/top", "").await?;
    assert_eq!(status, 404);
    let _ = stop.send(());
    second.await??;
    std::fs::remove_dir_all(&dir)?;
    println!("self-test passed");
    Ok(())
}
