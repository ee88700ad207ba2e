//! The run command's node manager: starts both nodes, deploys once, passes the URLs
//! to the app, refuses a second run on the same data, keeps the data across runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn devnodes(state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_medwallet-devnodes"));
    cmd.arg("--state").arg(state);
    cmd
}

fn wait_for(path: &Path, timeout: Duration) -> String {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{} did not appear within {timeout:?}", path.display());
}

/// True when a bodyless POST to `base` + `path` gets any HTTP answer with status 2xx.
fn http_post_ok(base: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 2")
}

/// Both tests prefer the well-known ledger port when it is free: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn runs_the_app_with_node_urls_keeps_data_and_refuses_a_second_run() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let seen = dir.path().join("seen.txt");

    // The "app": records the URLs it was given, then waits to be stopped.
    let app = format!(
        "echo \"$MEDWALLET_IPFS_URL $MEDWALLET_LEDGER_URL $MEDWALLET_CONTRACT_ADDRESS\" > {}; sleep 120",
        seen.display()
    );
    let mut first = devnodes(&state)
        .args(["--", "sh", "-c", &app])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let urls = wait_for(&seen, Duration::from_secs(120));
    let parts: Vec<&str> = urls.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{urls}");
    assert!(
        parts[0].starts_with("http://127.0.0.1:") && parts[1].starts_with("http://127.0.0.1:"),
        "{urls}"
    );
    assert!(parts[2].starts_with("0x") && parts[2].len() == 42, "{urls}");
    // Both nodes stay up while the app runs (not just until start-up finished).
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        http_post_ok(parts[0], "/api/v0/version"),
        "the IPFS node is down while the app runs"
    );
    assert!(
        http_post_ok(parts[1], "/"),
        "the ledger node is down while the app runs"
    );

    // A second run on the same data is refused at once and touches nothing.
    let second = devnodes(&state).args(["--", "true"]).output().unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already using"),
        "{second:?}"
    );

    // Ctrl-C stops the app and the nodes.
    let pid = i32::try_from(first.id()).unwrap();
    assert!(Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let status = first.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // Running again keeps the chain: the same contract, not a new deployment.
    std::fs::remove_file(&seen).unwrap();
    let app = format!("echo \"$MEDWALLET_CONTRACT_ADDRESS\" > {}", seen.display());
    let rerun = devnodes(&state)
        .args(["--", "sh", "-c", &app])
        .output()
        .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_eq!(std::fs::read_to_string(&seen).unwrap().trim(), parts[2]);
    assert!(!String::from_utf8_lossy(&rerun.stderr).contains("deployed the ledger contract"));
}

#[test]
fn network_runs_one_app_per_role_each_on_its_own_node_with_the_others_as_peers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let seen = dir.path().join("seen");
    std::fs::create_dir_all(&seen).unwrap();
    let app = format!(
        "echo \"$MEDWALLET_IPFS_URL $MEDWALLET_DATA_DIR $MEDWALLET_IPFS_PEERS\" > {}/$MEDWALLET_INSTANCE; sleep 120",
        seen.display()
    );
    let mut run = devnodes(&state)
        .args(["--network", "--", "sh", "-c", &app])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut urls = Vec::new();
    let mut peer_ids = Vec::new();
    for (role, ip) in [("patient", 2), ("doctor", 3), ("clinic", 4)] {
        let line = wait_for(&seen.join(role), Duration::from_secs(180));
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(
            parts[0].starts_with(&format!("http://127.0.0.{ip}:")),
            "{line}"
        );
        assert!(parts[1].ends_with(&format!("network/{role}/app")), "{line}");
        let peers: Vec<&str> = parts[2].split(',').collect();
        assert_eq!(peers.len(), 2, "{line}");
        for peer in &peers {
            assert!(
                peer.starts_with("/ip4/127.0.0.") && peer.contains("/p2p/"),
                "{peer}"
            );
            assert!(!peer.starts_with(&format!("/ip4/127.0.0.{ip}/")), "{peer}");
        }
        urls.push(parts[0].to_owned());
        peer_ids.push(
            peers
                .iter()
                .map(|p| p.rsplit('/').next().unwrap().to_owned())
                .collect::<Vec<_>>(),
        );
    }
    // Each node is connected to the other two.
    for (i, url) in urls.iter().enumerate() {
        let peers = http_post_answer(url, "/api/v0/swarm/peers");
        for id in &peer_ids[i] {
            assert!(
                peers.contains(id.as_str()),
                "{url} is not connected to {id}: {peers}"
            );
        }
    }
    let pid = i32::try_from(run.id()).unwrap();
    assert!(Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    assert!(run.wait().unwrap().success());
    for url in &urls {
        assert!(!http_post_ok(url, "/api/v0/version"), "{url} still up");
    }
}

/// The body of a bodyless POST's answer.
fn http_post_answer(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}
