//! Test helper: a gateway running in-process on `127.0.0.1:<random port>`.

use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::config::Config;
use crate::state::AppState;

/// A running in-process gateway. Dropping it shuts the server down.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The server's state (direct database access for assertions).
    pub state: AppState,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<anyhow::Result<()>>>>,
}

impl TestServer {
    /// Shuts the server down as a signal does (it stops accepting, hands its live sessions
    /// over and stops the live module while in-flight requests drain) and waits until it has
    /// stopped. The state stays readable. Idempotent.
    pub async fn shut_down(&self) {
        if let Some(tx) = self.shutdown.lock().expect("poisoned").take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.lock().await.take() {
            let _ = t.await;
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(self) {
        self.shut_down().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.get_mut().ok().and_then(Option::take) {
            let _ = tx.send(());
        }
    }
}

/// Starts a gateway with `config` (set `bind` to port 0) and returns when it accepts requests.
/// Migrations run first whatever `migrate_on_start` says.
pub async fn spawn(mut config: Config) -> anyhow::Result<TestServer> {
    config.migrate_on_start = Some(true);
    let state = AppState::connect(config).await?;
    crate::reindex::ensure_index(&state).await?;
    let (tx, rx) = oneshot::channel::<()>();
    let running = crate::app::start(state.clone(), async move {
        let _ = rx.await;
    })
    .await?;
    Ok(TestServer {
        base_url: format!("http://{}", running.addr),
        state,
        shutdown: Mutex::new(Some(tx)),
        task: tokio::sync::Mutex::new(Some(running.task)),
    })
}
