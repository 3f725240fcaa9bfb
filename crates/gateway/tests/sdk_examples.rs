//! The SDK's examples (`crates/sdk/examples`), run against a gateway on its embedded default:
//! the same functions their `main`s call, so the examples a user copies keep working.

use gateway::config::Config;
use gateway::testing::spawn;

#[allow(dead_code)]
#[path = "../../sdk/examples/bot_player.rs"]
mod bot_player;
#[allow(dead_code)]
#[path = "../../sdk/examples/host_game.rs"]
mod host_game;
#[allow(dead_code)]
#[path = "../../sdk/examples/import_questions.rs"]
mod import_questions;
#[allow(dead_code)]
#[path = "../../sdk/examples/quickstart.rs"]
mod quickstart;

/// Imports the shipped questions and a generated batch, hosts a game of them, and plays it with
/// two bots to the end: every bot gets a final standing and the host's standings name both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_host_and_bots_play_a_whole_game() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = spawn(Config::for_tests(dir.path()))
        .await
        .expect("spawn gateway");
    let base = server.base_url.clone();

    let host = import_questions::login_or_register(&base, "host", "correct horse 1")
        .await
        .expect("register and log in");
    let shipped = import_questions::import_csv(&host, import_questions::SAMPLE_CSV)
        .await
        .expect("import the shipped CSV");
    assert_eq!(shipped.imported, 6);
    // Logging in again finds the existing account.
    let again = import_questions::login_or_register(&base, "host", "correct horse 1")
        .await
        .expect("log in again");
    let generated = again
        .import_questions(&import_questions::generated(50))
        .await
        .expect("import a generated batch");
    assert_eq!(generated.ids.len(), 50);
    // All or nothing: one bad row and nothing is stored.
    let bad = format!(
        "{}\nA question without a correct choice?,Misc,,1,,yes,no,,,,,\n",
        import_questions::SAMPLE_CSV.trim_end()
    );
    let refused = import_questions::import_csv(&host, &bad).await.unwrap_err();
    assert_eq!(refused.status(), Some(422), "{refused}");
    assert_eq!(host.export_questions().await.unwrap().questions.len(), 56);

    let quiz_id = host_game::quiz_from_bank(&host, 2)
        .await
        .expect("make a quiz");
    let (code_tx, code_rx) = tokio::sync::oneshot::channel::<String>();
    let hosting = {
        let host = host.clone();
        tokio::spawn(async move {
            host_game::host_session(&host, quiz_id, 2, move |code| {
                let _ = code_tx.send(code.to_string());
            })
            .await
            .map_err(|e| e.to_string())
        })
    };
    let code = code_rx.await.expect("the host printed a join code");
    let bots: Vec<_> = ["bot-1", "bot-2"]
        .into_iter()
        .map(|name| {
            let (base, code) = (base.clone(), code.clone());
            tokio::spawn(async move {
                bot_player::play(&base, &code, name)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .collect();

    let (session_id, standings) = hosting.await.unwrap().expect("host the session");
    let mut names: Vec<_> = standings.iter().map(|s| s.nickname.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["bot-1", "bot-2"]);
    for bot in bots {
        let mine = bot
            .await
            .unwrap()
            .expect("bot played")
            .expect("a final standing");
        assert!(standings.contains(&mine), "{mine:?} not in {standings:?}");
    }
    let stored = host
        .live_standings(session_id)
        .await
        .expect("stored standings");
    assert_eq!(stored, standings);
    let report = host.live_session_report(session_id).await.expect("report");
    assert_eq!(report.questions.len(), 2);
    assert!(
        report.questions.iter().all(|q| q.answers == 2),
        "{report:#?}"
    );

    server.stop().await;
}

/// The quick start runs start to end on a fresh gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = spawn(Config::for_tests(dir.path()))
        .await
        .expect("spawn gateway");
    quickstart::run(&server.base_url)
        .await
        .expect("quick start");
    server.stop().await;
}
