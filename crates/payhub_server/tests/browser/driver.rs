//! chromedriver and a headless Chromium session with JavaScript switched off
//! (or, for the few progressive-enhancement checks, on).
//!
//! Each test starts its own chromedriver on a free loopback port, so tests
//! run in parallel (`cargo test`) or one per process (`cargo nextest`)
//! without sharing a browser. The driver runs in its own process group and
//! the guard kills that whole group when dropped, so a failing test leaves
//! neither chromedriver nor the Chromium it started behind.

use std::net::TcpListener;
use std::ops::Deref;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};
use url::Url;

/// Debian's chromedriver (package `chromium-driver`); `PAYHUB_CHROMEDRIVER` overrides.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium (package `chromium`); `PAYHUB_CHROMIUM` overrides.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to answer `/status` after it starts.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the page may take to get where a test waits for it to go,
/// e.g. through a `<meta http-equiv="refresh">` every 3 s.
pub const NAVIGATION_TIMEOUT: Duration = Duration::from_secs(20);

/// A page that tells whether scripts run: with scripting off, `<noscript>`
/// content is parsed as markup and the script never retitles the page.
const SCRIPT_PROBE: &str = "data:text/html,<!DOCTYPE html><title>probe</title>\
    <noscript><p id=\"scripts-off\">off</p></noscript>\
    <script>document.title = 'scripts ran'</script>";

fn tool_path(variable: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: the browser tests need Debian's `{package}` package \
         (apt-get install -y --no-install-recommends chromium chromium-driver; \
         .ci/run does this), or {variable} set to its path",
        path.display()
    );
    path
}

/// A port on loopback nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A running chromedriver; dropping it kills its process group.
struct Chromedriver {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Chromedriver {
    async fn start() -> Chromedriver {
        let path = tool_path("PAYHUB_CHROMEDRIVER", CHROMEDRIVER, "chromium-driver");
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("chromedriver.log");
        let port = free_port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            // Chromium's profile and other temporary files go with `dir`,
            // even when the browser is killed rather than closed.
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so Drop can end Chromium along with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let answer = client.get(format!("{}/status", self.url)).send().await;
            if let Ok(response) = answer {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    return;
                }
            }
            assert!(
                started.elapsed() < DRIVER_START_TIMEOUT,
                "chromedriver did not become ready at {} within {DRIVER_START_TIMEOUT:?}; its log:\n{}",
                self.url,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (`process_group(0)`); Chromium
        // and its helpers inherited the group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session in headless Chromium with JavaScript disabled.
/// Derefs to the fantoccini [`Client`].
pub struct Browser {
    client: Client,
    // Declared last: the driver stops after the session was used.
    driver: Chromedriver,
}

impl Browser {
    /// Starts chromedriver and a session, then proves scripts do not run.
    pub async fn start() -> Browser {
        let browser = Browser::launch(false).await;
        browser.assert_scripts_are_off().await;
        browser
    }

    /// Starts a session with JavaScript on, for the few checks of the page's
    /// progressive enhancement (the hosted card page's brand label).
    pub async fn start_with_scripts() -> Browser {
        Browser::launch(true).await
    }

    async fn launch(scripts: bool) -> Browser {
        let chromium = tool_path("PAYHUB_CHROMIUM", CHROMIUM, "chromium");
        let driver = Chromedriver::start().await;
        // Two crypto providers are compiled in (see Cargo.toml); pick one.
        // An error only means another test already installed it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(capabilities(&chromium, scripts))
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no WebDriver session at {}: {e}; chromedriver's log:\n{}",
                    driver.url,
                    driver.log_text()
                )
            });
        Browser { client, driver }
    }

    async fn assert_scripts_are_off(&self) {
        self.goto(SCRIPT_PROBE)
            .await
            .expect("open the script probe");
        let title = self.title().await.expect("title");
        let noscript = self.find_all(Locator::Id("scripts-off")).await;
        assert_eq!(title, "probe", "a script ran: JavaScript is not disabled");
        assert_eq!(
            noscript.map(|found| found.len()).unwrap_or_default(),
            1,
            "<noscript> content was not rendered: JavaScript is not disabled"
        );
    }

    /// Ends the session (Chromium quits and removes its profile), then the driver.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        if let Err(e) = client.close().await {
            eprintln!("closing the WebDriver session: {e}");
        }
        drop(driver);
    }

    /// The element `css` selects; the failure names the page the browser is on.
    pub async fn element(&self, css: &str) -> Element {
        match self.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element {css} at {}: {e}", self.current_url_text().await),
        }
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> usize {
        self.find_all(Locator::Css(css)).await.expect("find").len()
    }

    /// The trimmed text of the element `css` selects.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.element(css).await;
        element
            .text()
            .await
            .expect("element text")
            .trim()
            .to_owned()
    }

    /// The attribute `name` of the element `css` selects.
    pub async fn attribute_of(&self, css: &str, name: &str) -> Option<String> {
        self.element(css).await.attr(name).await.expect("attribute")
    }

    /// Types `text` into the field `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.element(css)
            .await
            .send_keys(text)
            .await
            .expect("typing");
    }

    /// Clicks the element `css` selects (a submit button: a real form post).
    pub async fn click_on(&self, css: &str) {
        self.element(css).await.click().await.expect("click");
    }

    /// Waits until the page has an element `css` selects.
    pub async fn wait_for(&self, css: &str) {
        let found = self
            .wait()
            .at_most(NAVIGATION_TIMEOUT)
            .for_element(Locator::Css(css))
            .await;
        if let Err(e) = found {
            panic!(
                "no {css} within {NAVIGATION_TIMEOUT:?} ({e}); the browser is at {}:\n{}",
                self.current_url_text().await,
                self.source().await.unwrap_or_default()
            );
        }
    }

    /// Waits until the page loads again by itself (e.g. through its
    /// `<meta http-equiv="refresh">`): an element taken from it now goes
    /// stale once the document it belonged to is replaced.
    pub async fn wait_for_reload(&self) {
        let root = self.element("html").await;
        let started = Instant::now();
        loop {
            match root.tag_name().await {
                Err(e) if e.is_stale_element_reference() => return,
                Err(e) => panic!("watching the page for a reload: {e}"),
                Ok(_) if started.elapsed() > NAVIGATION_TIMEOUT => panic!(
                    "{} did not reload within {NAVIGATION_TIMEOUT:?}",
                    self.current_url_text().await
                ),
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits until the browser's address satisfies `arrived` (`what` names
    /// the place for the failure message) and returns it.
    pub async fn wait_for_url(&self, what: &str, arrived: impl Fn(&Url) -> bool) -> Url {
        let started = Instant::now();
        loop {
            let url = self.current_url().await.expect("current URL");
            if arrived(&url) {
                return url;
            }
            if started.elapsed() > NAVIGATION_TIMEOUT {
                panic!(
                    "the browser did not reach {what} within {NAVIGATION_TIMEOUT:?}; it is at {url}:\n{}",
                    self.source().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn current_url_text(&self) -> String {
        self.current_url()
            .await
            .map_or_else(|e| format!("(unknown: {e})"), |u| u.to_string())
    }
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Headless Chromium, JavaScript off twice over: Blink's `scriptEnabled`
/// setting and the content setting an administrator's policy would use.
fn capabilities(chromium: &Path, scripts: bool) -> Map<String, Value> {
    let mut options = json!({
        "binary": chromium.display().to_string(),
        "args": [
            "--headless",
            // Tests run as root in containers, where the sandbox cannot start.
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1024,900",
            "--blink-settings=scriptEnabled=false",
        ],
        "prefs": {
            "profile.managed_default_content_settings.javascript": 2,
        },
    });
    if scripts {
        options["args"] = json!([
            "--headless",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1024,900",
        ]);
        options["prefs"] = json!({});
    }
    let mut capabilities = Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    capabilities
}
