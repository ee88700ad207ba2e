//! The end-to-end harness: real nodes, the real app, driven through tauri-driver
//! and WebKitWebDriver.
//!
//! Each test gets its own nodes (free ports, temp folders), its own app data folder
//! and its own tauri-driver, so tests share no state. Screenshots go to
//! `$MEDWALLET_E2E_ARTIFACTS/<test>/` at every step, so the last one shows where a
//! failing test stopped. Dropping an [`App`] stops tauri-driver (SIGTERM, which
//! also ends WebKitWebDriver and the app), also when the test panics, and so does a
//! launch that fails after tauri-driver started.
//!
//! Files are never typed into the app: it names files only by the tokens its own dialogs
//! hand out. WebDriver cannot drive GTK's dialogs, so every app is launched with the
//! dialogs' test seam on (`MEDWALLET_TEST_DIALOG_DIR`, honoured by debug builds only): a
//! story queues the file a dialog should answer ([`App::choose`]) and clicks the app's
//! real button.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use medwallet_devnodes::{
    free_port, stop_gracefully, Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools,
};
use medwallet_ledger::{LedgerNode, PrivateKeySigner};
use thirtyfour::prelude::*;

pub use thirtyfour;

pub mod notifications;
pub mod seed;

/// How long a UI expectation may take before the test fails.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

/// A real IPFS node and a real ledger node with the contract deployed; for stories
/// across machines ([`Nodes::start_network`]), more IPFS nodes, one per machine.
pub struct Nodes {
    /// The js-ipfs daemon (`None` once stopped): the first machine's node.
    pub ipfs: Option<Ipfs>,
    /// The anvil node (`None` once stopped).
    pub anvil: Option<Anvil>,
    /// The IPFS API URL.
    pub ipfs_url: String,
    /// The ledger URL.
    pub ledger_url: String,
    /// The deployed contract's address.
    pub contract: String,
    /// Where peers reach the first node, when it is in the swarm.
    pub ipfs_swarm_addr: Option<String>,
    /// The other machines' nodes ([`Nodes::add_peer_node`]).
    peer_nodes: Vec<Ipfs>,
    dir: tempfile::TempDir,
}

/// Another machine's IPFS node, in the swarm on its own `127.0.0.N` and connected to
/// every other node of the [`Nodes`] that started it (which stops it when dropped).
#[derive(Debug, Clone)]
pub struct PeerNode {
    /// The node's RPC API URL.
    pub url: String,
    /// Where peers reach it (`/ip4/127.0.0.N/tcp/P/p2p/<peer id>`).
    pub swarm_addr: String,
}

impl PeerNode {
    /// Whether the node holds the block `cid` itself (it never asks its peers for it).
    pub async fn has_locally(&self, cid: &str) -> bool {
        ipfs_has_locally(&self.url, cid).await
    }
}

/// Whether the IPFS node at `url` holds the block `cid` itself.
pub async fn ipfs_has_locally(url: &str, cid: &str) -> bool {
    let cid: medwallet_records::Cid = cid
        .parse()
        .unwrap_or_else(|e| panic!("{cid:?} is not a CID: {e}"));
    medwallet_records::IpfsNode::new(&url.parse().expect("node url"))
        .expect("an IPFS client")
        .has_locally(&cid)
        .await
        .unwrap_or_else(|e| panic!("asking {url} for its local blocks: {e}"))
}

impl Nodes {
    /// Starts both nodes in a fresh temp folder and deploys the contract; the IPFS
    /// node is offline (one node for everyone, as on one machine).
    pub async fn start() -> Self {
        Self::start_with(IpfsOptions::ephemeral).await
    }

    /// [`Nodes::start`] for a network of machines: the first IPFS node joins the swarm on
    /// `127.0.0.<n>` (each story its own `n`, distinct from every other test's, see
    /// [`Nodes::add_peer_node`]), so that other machines' nodes can fetch its blocks.
    pub async fn start_network(n: u8) -> Self {
        Self::start_with(|dir| IpfsOptions::peer(dir, Ipv4Addr::new(127, 0, 0, n))).await
    }

    async fn start_with(ipfs_options: impl FnOnce(PathBuf) -> IpfsOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tools = NodeTools::locate().expect("node tools (run scripts/setup)");
        let ipfs =
            Ipfs::start(&tools, &ipfs_options(dir.path().join("ipfs"))).expect("js-ipfs starts");
        let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(dir.path().join("anvil")))
            .expect("anvil starts");
        let ledger_url = anvil.url();
        let contract = LedgerNode::new(&ledger_url.parse().expect("url"))
            .deploy(PrivateKeySigner::random())
            .await
            .expect("contract deploys");
        Self {
            ipfs_url: ipfs.api_url(),
            ipfs_swarm_addr: ipfs.swarm_addr(),
            ledger_url,
            contract: contract.to_string(),
            ipfs: Some(ipfs),
            anvil: Some(anvil),
            peer_nodes: Vec::new(),
            dir,
        }
    }

    /// Starts another machine's IPFS node in the swarm on `127.0.0.<n>`, and connects it
    /// to the first node and to every node added before. `n` is the story's own: the
    /// core tests use 2 to 7, the benchmarks 21 to 23, the e2e stories 31 and up (the
    /// share story 31 and 32).
    pub fn add_peer_node(&mut self, n: u8) -> PeerNode {
        let first = self.ipfs.as_ref().expect("the first IPFS node is running");
        assert!(
            first.swarm_addr().is_some(),
            "the first IPFS node is offline: start the nodes with Nodes::start_network"
        );
        let tools = NodeTools::locate().expect("node tools (run scripts/setup)");
        let dir = self.dir.path().join(format!("ipfs-127.0.0.{n}"));
        let node = Ipfs::start(&tools, &IpfsOptions::peer(dir, Ipv4Addr::new(127, 0, 0, n)))
            .expect("js-ipfs starts in the swarm");
        for other in std::iter::once(first).chain(&self.peer_nodes) {
            node.connect(other)
                .expect("the new node connects to its peers");
        }
        let peer = PeerNode {
            url: node.api_url(),
            swarm_addr: node.swarm_addr().expect("a swarm node"),
        };
        self.peer_nodes.push(node);
        peer
    }

    /// The environment that points the app at these nodes: the first IPFS node, kept
    /// connected to the other machines' nodes, if any.
    pub fn app_env(&self) -> Vec<(&'static str, String)> {
        let peers = self.peer_nodes.iter().filter_map(Ipfs::swarm_addr);
        self.env_for(&self.ipfs_url, peers.collect())
    }

    /// The environment of an app on another machine, on its own IPFS node `node`
    /// (kept connected to every other node of the network).
    pub fn app_env_on(&self, node: &PeerNode) -> Vec<(&'static str, String)> {
        let peers = self
            .ipfs_swarm_addr
            .iter()
            .cloned()
            .chain(self.peer_nodes.iter().filter_map(Ipfs::swarm_addr))
            .filter(|addr| *addr != node.swarm_addr);
        self.env_for(&node.url, peers.collect())
    }

    fn env_for(&self, ipfs_url: &str, peers: Vec<String>) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("MEDWALLET_IPFS_URL", ipfs_url.to_owned()),
            ("MEDWALLET_LEDGER_URL", self.ledger_url.clone()),
            ("MEDWALLET_CONTRACT_ADDRESS", self.contract.clone()),
        ];
        if !peers.is_empty() {
            env.push(("MEDWALLET_IPFS_PEERS", peers.join(",")));
        }
        env
    }

    /// Stops the ledger node.
    pub fn stop_ledger(&mut self) {
        if let Some(anvil) = self.anvil.take() {
            anvil.stop();
        }
    }
}

/// The real app, running under tauri-driver.
pub struct App {
    driver: Option<WebDriver>,
    _tauri_driver: TauriDriver,
    artifacts: PathBuf,
    step: u32,
    /// The app's data folder (settings and vault files).
    pub data_dir: tempfile::TempDir,
    /// Where the answers the app's next dialogs give wait (the seam's folder).
    dialog_dir: tempfile::TempDir,
    /// Answers queued so far (their files are named in this order).
    dialog_answers: u32,
}

impl App {
    /// Launches the app for test `name` with `env` added to its environment.
    pub async fn launch(name: &str, env: &[(&'static str, String)]) -> Self {
        Self::launch_in(name, env, tempfile::tempdir().expect("temp dir")).await
    }

    /// [`App::launch`] on the data folder `data_dir`, which a story may have filled first
    /// (a wallet and its records made through the library crates, see [`seed`]).
    pub async fn launch_in(
        name: &str,
        env: &[(&'static str, String)],
        data_dir: tempfile::TempDir,
    ) -> Self {
        let dialog_dir = tempfile::tempdir().expect("temp dir");
        let artifacts = artifacts_root().join(name);
        std::fs::create_dir_all(&artifacts).expect("artifacts dir");

        let (port, native_port) = (free_port().expect("port"), free_port().expect("port"));
        // The app inherits tauri-driver's environment (through WebKitWebDriver).
        let mut cmd = Command::new(tool("tauri-driver"));
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("MEDWALLET_DATA_DIR", data_dir.path())
        .env("MEDWALLET_TEST_DIALOG_DIR", dialog_dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(log_file(&artifacts, "tauri-driver.log"))
        .stderr(log_file(&artifacts, "tauri-driver.err.log"));
        // Owned by a guard from here on, so a failure below (no session) still stops it.
        let tauri_driver = TauriDriver(
            cmd.spawn()
                .expect("tauri-driver starts (run scripts/setup)"),
        );
        // tauri-driver listens at once but proxies to WebKitWebDriver, which takes a
        // moment longer: a session request before then is refused.
        wait_port(port);
        wait_port(native_port);

        let mut caps = thirtyfour::Capabilities::new();
        caps.set("browserName", "wry").expect("caps");
        caps.set(
            "tauri:options",
            serde_json::json!({ "application": app_binary() }),
        )
        .expect("caps");
        // thirtyfour's reqwest client needs rustls's process default provider (reqwest
        // has rustls without one of its own in this build).
        medwallet_net::install_crypto_provider();
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
            .await
            .expect("a WebDriver session");
        Self {
            driver: Some(driver),
            _tauri_driver: tauri_driver,
            artifacts,
            step: 0,
            data_dir,
            dialog_dir,
            dialog_answers: 0,
        }
    }

    /// Queues what the app's next file dialog answers: `files` (none: the dialog is
    /// cancelled). A save dialog answers the first. The app reads it when the dialog
    /// opens, so queue it before the click that opens it (see [`App::choose`]).
    pub fn queue_dialog(&mut self, files: &[impl AsRef<Path>]) {
        self.dialog_answers += 1;
        let text: String = files
            .iter()
            .map(|f| format!("{}\n", f.as_ref().display()))
            .collect();
        let name = format!("{:06}.answer", self.dialog_answers);
        // Written aside, then renamed: the app never reads half an answer.
        let part = self.dialog_dir.path().join(format!("{name}.part"));
        std::fs::write(&part, text).expect("queue a dialog answer");
        std::fs::rename(&part, self.dialog_dir.path().join(name)).expect("queue a dialog answer");
    }

    /// Clicks the button at `css`, which opens a file dialog of the app, answered with
    /// `files`: how a user chooses files (a story never types a path).
    pub async fn choose(&mut self, css: &str, files: &[impl AsRef<Path>]) {
        self.queue_dialog(files);
        self.click(css).await;
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("session open")
    }

    /// Waits until the Records page of a wallet with no record has read its (empty) list.
    /// The add form it shows before is redrawn when the list comes, and a click in between
    /// can land on the old one: a story's first add waits for this.
    pub async fn wait_records_empty(&mut self) {
        self.wait_text("#records-empty", |t| t.contains("No records yet"))
            .await;
    }

    /// Waits until the element at `css` exists and its text satisfies `want`; returns
    /// the text. On timeout, takes a screenshot and fails with the last text seen.
    pub async fn wait_text(&mut self, css: &str, want: impl Fn(&str) -> bool) -> String {
        self.wait_text_within(css, UI_TIMEOUT, want).await
    }

    /// [`App::wait_text`] looking every `every` (a measured story looks often, so its
    /// figure is close to when the text appeared; each look is one WebDriver round trip).
    pub async fn wait_text_every(
        &mut self,
        css: &str,
        every: Duration,
        want: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let mut last = String::from("(element not found)");
        while start.elapsed() < UI_TIMEOUT {
            if let Ok(element) = self.driver().find(By::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if want(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(every).await;
        }
        self.screenshot("timeout").await;
        panic!("{css} did not show the expected text within {UI_TIMEOUT:?}; last seen: {last:?}");
    }

    /// The attribute `name` of every element matching `css` right now (one WebDriver
    /// round trip per element).
    pub async fn attributes(&mut self, css: &str, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.find_all(css).await {
            if let Ok(Some(value)) = element.attr(name).await {
                out.push(value);
            }
        }
        out
    }

    /// Types `text` at the end of the input at `css` (what is there stays): keystrokes,
    /// as a user types them.
    pub async fn type_keys(&mut self, css: &str, text: &str) {
        let input = self.find(css).await;
        input
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// [`App::wait_text`] with its own deadline, for work that is expected to take longer
    /// than a screen's reaction (a wallet rebuilt from the ledger).
    pub async fn wait_text_within(
        &mut self,
        css: &str,
        timeout: Duration,
        want: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let mut last = String::from("(element not found)");
        while start.elapsed() < timeout {
            if let Ok(element) = self.driver().find(By::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if want(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot("timeout").await;
        panic!("{css} did not show the expected text within {timeout:?}; last seen: {last:?}");
    }

    /// Clicks the element at `css`, scrolled to the middle of the window first (the
    /// status bar covers the bottom edge, and a covered element refuses the click).
    pub async fn click(&mut self, css: &str) {
        let start = Instant::now();
        loop {
            let element = self.find(css).await;
            // Scrolling is best effort: the click below says whether it was reachable.
            let _ = element.scroll_into_view().await;
            match element.click().await {
                Ok(()) => return,
                // The page re-rendered between the find and the click: find it again.
                Err(e)
                    if matches!(
                        e.as_inner(),
                        thirtyfour::error::WebDriverErrorInner::StaleElementReference(_)
                    ) && start.elapsed() < UI_TIMEOUT =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Replaces the text of the input at `css` (empties it for ""), scrolled into view first.
    pub async fn fill(&mut self, css: &str, text: &str) {
        let input = self.find(css).await;
        // Below the fold (a long form, a row far down a list) it would refuse the keys.
        let _ = input.scroll_into_view().await;
        input
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        // Typing is what the page hears (an input event); emptying a field is a key and
        // its deletion, since a cleared value alone leaves the page's state as it was.
        let typed = if text.is_empty() {
            match input.send_keys(" ").await {
                Ok(()) => input.send_keys(thirtyfour::Key::Backspace).await,
                Err(e) => Err(e),
            }
        } else {
            input.send_keys(text).await
        };
        typed.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The element at `css`, waiting for it to appear.
    pub async fn find(&mut self, css: &str) -> WebElement {
        let start = Instant::now();
        loop {
            match self.driver().find(By::Css(css)).await {
                Ok(element) => return element,
                Err(e) if start.elapsed() > UI_TIMEOUT => {
                    self.screenshot("missing-element").await;
                    panic!("{css} not found: {e}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Waits until exactly `n` elements match `css`, and answers their texts, read in the
    /// same look (a list that re-renders between a find and a read makes the found
    /// elements stale: then it looks again). On timeout, takes a screenshot and fails
    /// with the last count seen. (`find` and `wait_text` return on the first match: a test
    /// that then counts several must wait for the count.)
    pub async fn wait_texts(&mut self, css: &str, n: usize) -> Vec<String> {
        let start = Instant::now();
        let mut last = 0;
        while start.elapsed() < UI_TIMEOUT {
            let found = self.find_all(css).await;
            last = found.len();
            if found.len() == n {
                let mut texts = Vec::with_capacity(n);
                for element in &found {
                    match element.text().await {
                        Ok(text) => texts.push(text),
                        Err(_) => break,
                    }
                }
                if texts.len() == n {
                    return texts;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot("timeout").await;
        panic!("{css}: {last} elements, expected {n}, within {UI_TIMEOUT:?}");
    }

    /// Waits until the input at `css` holds a value that satisfies `want`; answers it
    /// (looked up again on each try, so a re-render in between does not fail the test).
    pub async fn wait_value(&mut self, css: &str, want: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut last = String::from("(element not found)");
        while start.elapsed() < UI_TIMEOUT {
            if let Ok(element) = self.driver().find(By::Css(css)).await {
                if let Ok(Some(value)) = element.value().await {
                    if want(&value) {
                        return value;
                    }
                    last = value;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot("timeout").await;
        panic!("{css} did not hold the expected value within {UI_TIMEOUT:?}; last seen: {last:?}");
    }

    /// Every element matching `css` right now.
    pub async fn find_all(&mut self, css: &str) -> Vec<WebElement> {
        self.driver()
            .find_all(By::Css(css))
            .await
            .unwrap_or_default()
    }

    /// Waits until no element matches `css`. On timeout, takes a screenshot and fails.
    pub async fn wait_gone(&mut self, css: &str) {
        let start = Instant::now();
        while self.exists(css).await {
            if start.elapsed() >= UI_TIMEOUT {
                self.screenshot("timeout").await;
                panic!("{css} was still there after {UI_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether an element matches `css` right now.
    pub async fn exists(&self, css: &str) -> bool {
        self.driver().find(By::Css(css)).await.is_ok()
    }

    /// Saves a numbered screenshot of the window.
    pub async fn screenshot(&mut self, label: &str) {
        // Let the last render settle before capturing it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.step += 1;
        let path = self.artifacts.join(format!("{:02}-{label}.png", self.step));
        if let Err(e) = self.driver().screenshot(&path).await {
            eprintln!("screenshot {} failed: {e}", path.display());
        }
    }

    /// Onboarding for stories that start with a wallet: creates one of `role`
    /// (`patient`, `doctor`, `clinic`) with a strong passphrase and confirms its Emergency
    /// Kit; answers the recovery words. (The wallet story tests each of these steps and
    /// its errors.)
    pub async fn create_wallet(&mut self, role: &str, name: &str, passphrase: &str) -> Vec<String> {
        self.wait_text("#onboarding-title", |t| t.contains("Welcome"))
            .await;
        self.click("#start-create").await;
        self.click(&format!("#role-{role}")).await;
        self.fill("#wallet-name", name).await;
        self.fill("#passphrase", passphrase).await;
        self.fill("#passphrase-again", passphrase).await;
        self.click("#create-wallet").await;
        self.wait_text("#kit-title", |t| t.contains("recovery words"))
            .await;
        let mut words = Vec::new();
        for i in 1..=24 {
            words.push(
                self.wait_text(&format!("#kit-word-{i}"), |t| !t.is_empty())
                    .await,
            );
        }
        self.click("#kit-next").await;
        self.wait_text("#kit-title", |t| t.contains("Check")).await;
        for (i, word) in words.iter().enumerate() {
            let css = format!("#kit-confirm-{}", i + 1);
            if self.exists(&css).await {
                self.fill(&css, word).await;
            }
        }
        self.click("#kit-confirm").await;
        words
    }

    /// Reads the app's log files (`<data dir>/logs/`) and asserts that they hold the
    /// story's start (so a log that was never written fails too), and none of `secrets`,
    /// nor the wallet's recovery `words` (as a phrase, three words in a row, or the seed
    /// they encode, in hex). Logs are what a user sends with a bug report.
    pub fn assert_logs_keep_secrets(&self, words: &[String], secrets: &[&str]) {
        let dir = self.data_dir.path().join("logs");
        let mut text = String::new();
        for entry in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no log folder at {}: {e}", dir.display()))
        {
            let path = entry.expect("a log file").path();
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).expect("log readable"),
            ));
        }
        assert!(
            text.contains("medwallet starting"),
            "the log holds no start line: {text}"
        );
        let mut forbidden: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        if !words.is_empty() {
            forbidden.push(words.join(" "));
            forbidden.extend(words.windows(3).map(|w| w.join(" ")));
            let phrase = medwallet_vault::RecoveryPhrase::parse(&words.join(" "))
                .expect("the kit's words are a phrase");
            forbidden.push(hex::encode(phrase.to_seed().as_bytes()));
        }
        let lower = text.to_lowercase();
        for secret in forbidden {
            assert!(
                !lower.contains(&secret.to_lowercase()),
                "the log holds a secret or a title ({} characters, starting {:?})",
                secret.len(),
                secret.chars().take(3).collect::<String>()
            );
        }
    }

    /// Ends the session and stops the app.
    pub async fn close(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
    }

    /// Ends the session and answers the data folder once the app is gone: its lock
    /// (`medwallet.lock`, held for the app's life) is free again. A story that starts the
    /// app again on it, or changes its files in between, waits for that.
    pub async fn quit(mut self) -> tempfile::TempDir {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
        let lock = self.data_dir.path().join("medwallet.lock");
        eventually("the app lets its data folder go", || {
            let lock = lock.clone();
            async move {
                let file = std::fs::File::open(&lock).ok()?;
                file.try_lock().ok()
            }
        })
        .await;
        self.data_dir
    }
}

/// The tauri-driver process, stopped when dropped.
struct TauriDriver(Child);

impl Drop for TauriDriver {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: a killed tauri-driver orphans WebKitWebDriver.
        stop_gracefully(&mut self.0, Duration::from_secs(5));
    }
}

/// Prints a measured figure and appends it to `figures.txt` in the artifacts folder (a
/// figure is reported, never asserted on).
pub fn record_figure(line: &str) {
    use std::io::Write;
    println!("figure: {line}");
    let path = artifacts_root().join("figures.txt");
    let written = std::fs::create_dir_all(artifacts_root()).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"))
    });
    if let Err(e) = written {
        eprintln!("{} not written: {e}", path.display());
    }
}

/// Where screenshots and logs go: `$MEDWALLET_E2E_ARTIFACTS`, else `.e2e-artifacts`.
pub fn artifacts_root() -> PathBuf {
    std::env::var_os("MEDWALLET_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.e2e-artifacts"))
}

/// The app binary built beside this test binary (`target/<profile>/medwallet`), with
/// the UI embedded (scripts/test builds it with `--features custom-protocol`).
pub fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MEDWALLET_APP_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/medwallet
    let app = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("medwallet");
    assert!(
        app.exists(),
        "{} is missing: build the app first (scripts/test does)",
        app.display()
    );
    app
}

fn tool(name: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin").join(name));
    match cargo_bin {
        Some(path) if path.exists() => path,
        _ => PathBuf::from(name),
    }
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).expect("log file")
}

fn wait_port(port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing listens on port {port} (tauri-driver / WebKitWebDriver)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `probe` until it answers `Some`, for as long as the UI is given
/// ([`UI_TIMEOUT`]): for state that a wallet reaches through the library (a second
/// machine) rather than on screen. Fails naming `what` on timeout.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            start.elapsed() < UI_TIMEOUT,
            "{what}: not reached within {UI_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
