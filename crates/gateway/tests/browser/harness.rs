//! Headless Chromium through chromedriver: a driver process per test and one browser session
//! (with its own fresh profile) per player, all killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long a wait for an element or a text may take before the test fails. Generous: the
/// machine may be busy; nothing asserts on how long anything took.
const WAIT: Duration = Duration::from_secs(45);

/// A `chromedriver --port=<free port>` process in its own process group.
pub struct Driver {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

impl Driver {
    /// Starts chromedriver and waits until it answers `/status`. Panics (does not skip) when
    /// chromedriver is missing.
    pub async fn start() -> Driver {
        use std::os::unix::process::CommandExt as _;
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start chromedriver ({e}): the browser tests need Chromium and its \
                     WebDriver. Install them with `apt-get install chromium chromium-driver` \
                     (`scripts/stack up` does it)."
                )
            });
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver never listened on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    /// Opens a headless Chromium session with a fresh profile and a `width`x`height` window
    /// (viewport, below 500 px wide).
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().expect("browser profile dir");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            format!("--window-size={width},{height}"),
        ];
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut options = json!({ "args": args });
        if width < 500 {
            // Chromium does not make a window narrower than 500 px; a phone-sized viewport comes
            // from device emulation instead (`mobile: false`, so that an overflowing page is not
            // zoomed out to fit, which would hide a horizontal scroll).
            options["mobileEmulation"] = json!({ "deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1.0, "mobile": false, "touch": false
            }});
        }
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open a Chromium session through chromedriver: {e}"));
        Browser {
            client,
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver and the browsers it started share its process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session (one player's tab).
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Runs `script` (a function body) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("execute {script:?}: {e}"))
    }

    /// Waits until `script` (a function body) returns `true`; panics with `what`, the visible
    /// screen and a screenshot (if `SCREENSHOTS_DIR` is set) otherwise.
    pub async fn wait_js(&self, what: &str, script: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if self.js(script).await == Value::Bool(true) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                self.shot(&format!("timeout-{}", what.replace(' ', "-")))
                    .await;
                let state = self
                    .js("return [...document.querySelectorAll('section.screen')].filter(s => !s.hidden).map(s => s.id + ': ' + s.innerText).join(' | ')")
                    .await;
                panic!("timed out waiting for {what}; visible: {state}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the screen `id` (`join`, `lobby`, `question`, `reveal`, `finished`) shows.
    pub async fn wait_screen(&self, id: &str) {
        self.wait_js(
            &format!("screen {id}"),
            &format!("const s = document.getElementById('{id}'); return !!s && !s.hidden;"),
        )
        .await;
    }

    /// The text content of the element `id`.
    pub async fn text(&self, id: &str) -> String {
        match self
            .js(&format!(
                "const e = document.getElementById('{id}'); return e ? e.textContent : null;"
            ))
            .await
        {
            Value::String(s) => s,
            other => panic!("no element #{id} ({other})"),
        }
    }

    /// Types into the input `id` (a real click and key presses).
    pub async fn type_into(&self, id: &str, text: &str) {
        let e = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("find #{id}: {e}"));
        e.click().await.expect("focus input");
        e.send_keys(text).await.expect("type");
    }

    /// Replaces the value of the input `id` (cleared, then typed).
    pub async fn fill(&self, id: &str, text: &str) {
        let e = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("find #{id}: {e}"));
        e.clear()
            .await
            .unwrap_or_else(|e| panic!("clear #{id}: {e}"));
        e.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
    }

    /// Waits until the element `id`'s text contains `part`.
    pub async fn wait_text(&self, id: &str, part: &str) {
        self.wait_js(
            &format!("#{id} to contain {part}"),
            &format!(
                "const e = document.getElementById('{id}'); return !!e && e.textContent.includes({});",
                json!(part)
            ),
        )
        .await;
    }

    /// Sends key presses to whatever has the focus (the page's keyboard shortcuts).
    pub async fn keys(&self, text: &str) {
        self.client
            .active_element()
            .await
            .expect("active element")
            .send_keys(text)
            .await
            .expect("send keys");
    }

    /// Clicks the element matched by the CSS selector.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The 1-based position (its key) of the choice button whose text is `text`.
    pub async fn choice_key(&self, text: &str) -> usize {
        let v = self
            .js(&format!(
                "return [...document.querySelectorAll('#choices .ctext')].findIndex(e => e.textContent === {});",
                json!(text)
            ))
            .await;
        let i = v.as_i64().expect("choice index");
        assert!(i >= 0, "no choice {text:?} on the page");
        i as usize + 1
    }

    /// `true` when the page is not wider than the window (no horizontal scroll).
    pub async fn fits_width(&self) -> bool {
        self.js("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await
            == Value::Bool(true)
    }

    /// Saves a PNG screenshot as `$SCREENSHOTS_DIR/<name>.png` when that variable is set.
    pub async fn shot(&self, name: &str) {
        let Some(dir) = std::env::var_os("SCREENSHOTS_DIR") else {
            return;
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create SCREENSHOTS_DIR");
        // Let the screen transition finish first (best effort: a picture, not an assertion).
        for _ in 0..50 {
            let done = self
                .js("return document.getAnimations().every(a => a.playState !== 'running');")
                .await;
            if done == Value::Bool(true) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the WebDriver session (the browser exits).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
