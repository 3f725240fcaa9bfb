//! The shipped `deploy/nginx.conf` in front of two gateways: Debian's nginx (installed by
//! `scripts/stack up`), started by this test as the test user on a free loopback port with its
//! own temporary and log paths; the configuration is the shipped file with only the upstream
//! addresses, the listen address and the paths replaced. Sessions created through nginx land
//! on both gateways, and the players and host of each session reach it through nginx, over
//! REST and WebSocket, even when the gateway their join code is routed to holds its maximum
//! of live sockets (nginx then tries the other gateway, which bridges to the owner). Real stack (MySQL primary + replica, Redis Cluster; env from
//! `scripts/stack env`, panics with a clear message when missing).

#[allow(dead_code)]
#[path = "live/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{
    connect_to, drop_database, host_session, make_quiz_with, mysql_config, register_host, wait_for,
    wait_msg,
};
use gateway::testing::{spawn, TestServer};
use livequiz_sdk::live::{close, ClientMsg, Credentials, LiveEvent, ServerMsg};

/// The nginx binary: on the `PATH` or where Debian puts it.
fn nginx_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("nginx"));
    on_path
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nginx is not installed: the nginx test needs Debian's nginx \
                 (`scripts/stack up` installs it, or `apt-get install nginx`)"
            )
        })
}

/// Replaces `from` by `to` in `text`, asserting that it occurs `times` times: the test must
/// notice when the shipped file changes shape instead of testing something else.
fn replace(text: &str, from: &str, to: &str, times: usize) -> String {
    assert_eq!(
        text.matches(from).count(),
        times,
        "deploy/nginx.conf should contain {from:?} {times} time(s)"
    );
    text.replace(from, to)
}

/// The process's user id (Linux), to decide whether nginx would switch users.
fn uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// nginx running the shipped configuration in front of `gateways`; stopped on drop.
struct Nginx {
    child: Child,
    base_url: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(gateways: [&str; 2]) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"),
        )
        .expect("read deploy/nginx.conf");
        let path = |name: &str| dir.path().join(name).display().to_string();
        let mut conf = replace(&shipped, "gateway-1:8080", gateways[0], 2);
        conf = replace(&conf, "gateway-2:8080", gateways[1], 2);
        conf = replace(&conf, "listen 80;", &format!("listen 127.0.0.1:{port};"), 1);
        conf = replace(&conf, "/var/log/nginx/access.log", &path("access.log"), 1);
        // Temporary files where the test user may write (the compiled-in ones are system paths).
        let temp_paths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map(|t| format!("    {t}_temp_path {};\n", path(t)))
            .concat();
        conf = replace(&conf, "\nhttp {\n", &format!("\nhttp {{\n{temp_paths}"), 1);
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        // As root nginx would run its workers as `nobody`; stay the test user.
        let user = if uid() == Some(0) { " user root;" } else { "" };
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(path("error.log"))
            .arg("-c")
            .arg(path("nginx.conf"))
            .arg("-g")
            .arg(format!("daemon off; pid {};{user}", path("nginx.pid")))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        nginx.wait_ready().await;
        nginx
    }

    /// Waits until nginx answers `/healthz` from a gateway.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("nginx status") {
                let log =
                    std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited with {status}: {log}");
            }
            let url = format!("{}/healthz", self.base_url);
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx never answered /healthz"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (a SIGKILLed master would leave them running).
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `host:port` of a test server.
fn address(server: &TestServer) -> &str {
    server.base_url.trim_start_matches("http://")
}

/// Live sockets each gateway may hold in this test: a session's host and two players are one
/// more than a gateway takes.
const WS_BOUND: usize = 2;

/// Live sockets `server` holds now.
fn sockets(server: &TestServer) -> usize {
    let (slots, bound) = server
        .state
        .live
        .websocket_slots()
        .expect("the server bounds its live sockets");
    bound - slots.available_permits()
}

/// Waits until neither gateway holds a live socket (closed ones give their slot back when
/// their connection task ends).
async fn no_sockets(gateways: [&TestServer; 2]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while gateways.iter().any(|g| sockets(g) > 0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "live sockets never closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Plays one question of the session `code` through `entry`: the host and two players connect
/// there, everyone answers right, both are acknowledged and scored, and the session finishes
/// with its standings stored. Three sockets for gateways of [`WS_BOUND`] each: the gateway the
/// code is routed to takes two, nginx sends the third to the other one.
async fn play_through(
    entry: &str,
    gateways: [&TestServer; 2],
    code: &str,
    host_token: &str,
    session_id: i64,
) {
    no_sockets(gateways).await;
    let host = connect_to(entry, code, Credentials::Host(host_token.to_string())).await;
    let mut players = Vec::new();
    for name in ["ann", "bob"] {
        let p = connect_to(entry, code, Credentials::Guest(name.into())).await;
        assert_eq!(p.welcome().session_id, session_id, "{name} joined {code}");
        players.push((name, p));
    }
    let held = gateways.map(sockets);
    assert_eq!(
        (
            held.iter().sum::<usize>(),
            held.contains(&WS_BOUND),
            held.contains(&1)
        ),
        (3, true, true),
        "two sockets on the gateway the code is routed to, the third on the other: {held:?}"
    );
    host.send(ClientMsg::Start).expect("start");
    for (name, p) in &mut players {
        wait_msg(p, &format!("{name}: question"), |m| match m {
            ServerMsg::Question(q) if q.index == 0 => Some(()),
            _ => None,
        })
        .await;
        p.answer(0, vec![1], Some(1)).expect("answer");
        wait_msg(p, &format!("{name}: ack"), |m| match m {
            ServerMsg::AnswerAck { question: 0, .. } => Some(()),
            ServerMsg::Error { code, message, .. } => panic!("{name}: {code:?} {message}"),
            _ => None,
        })
        .await;
    }
    for (name, p) in &mut players {
        let points = wait_msg(p, &format!("{name}: reveal"), |m| match m {
            ServerMsg::Reveal {
                question: 0,
                result: Some(r),
                ..
            } => Some(r.points),
            _ => None,
        })
        .await;
        assert!(points > 0, "{name} answered right through nginx");
        wait_msg(p, &format!("{name}: finished"), |m| match m {
            ServerMsg::Finished { .. } => Some(()),
            _ => None,
        })
        .await;
        let closed = wait_for(p, &format!("{name}: close"), |e| match e {
            LiveEvent::Closed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(closed, Some(close::SESSION_FINISHED));
    }
    host.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_spreads_sessions_over_both_gateways_and_players_reach_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut config, admin_url, db_name) = mysql_config(dir.path()).await;
    // As deployed: only nginx's X-Forwarded-For names the client.
    config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
    config.live_tuning.max_ws_connections = Some(WS_BOUND);
    let a = spawn(config.clone()).await.expect("spawn gateway A");
    let dir_b = tempfile::tempdir().expect("tempdir");
    let mut config_b = config;
    config_b.data_dir = dir_b.path().to_path_buf();
    let b = spawn(config_b).await.expect("spawn gateway B");
    let nginx = Nginx::start([address(&a), address(&b)]).await;

    let host_api = register_host(&nginx.base_url).await;
    let quiz_id = make_quiz_with(&host_api, &[30_000]).await;
    // Sessions created through nginx: each runs on the gateway that created it, and the
    // creates are balanced, so a few of them land on both gateways.
    let mut on_a = None;
    let mut on_b = None;
    for _ in 0..4 {
        let s = host_session(&host_api, quiz_id, 50).await;
        let (here_a, here_b) = (
            a.state.live.session(&s.code).is_some(),
            b.state.live.session(&s.code).is_some(),
        );
        assert!(
            here_a != here_b,
            "session {} runs on exactly one gateway",
            s.code
        );
        if here_a {
            on_a.get_or_insert(s);
        } else {
            on_b.get_or_insert(s);
        }
    }
    let (Some(s_a), Some(s_b)) = (on_a, on_b) else {
        panic!(
            "sessions created through nginx must land on both gateways \
             (A runs {}, B runs {})",
            a.state.live.running(),
            b.state.live.running()
        );
    };
    // Everyone of each session goes through nginx, WebSocket included, and the session's
    // owner runs the game: one session owned by A, one by B.
    for s in [&s_a, &s_b] {
        play_through(
            &nginx.base_url,
            [&a, &b],
            &s.code,
            &s.host_token,
            s.session_id,
        )
        .await;
        let standings = host_api
            .live_standings(s.session_id)
            .await
            .expect("standings through nginx");
        assert_eq!(standings.len(), 2, "both players' standings stored");
    }
    // The access log (the shipped format) names both gateways as upstreams.
    let log = std::fs::read_to_string(nginx.dir.path().join("access.log")).expect("access log");
    for gw in [address(&a), address(&b)] {
        assert!(log.contains(&format!("up={gw}")), "no request went to {gw}");
    }
    assert!(
        log.lines()
            .any(|l| l.contains("GET /v1/live/ws ") && l.contains(" 101 ")),
        "the WebSocket upgrades went through nginx"
    );
    drop(nginx);
    a.state.db.close().await;
    b.state.db.close().await;
    a.stop().await;
    b.stop().await;
    drop_database(&admin_url, &db_name).await;
}
