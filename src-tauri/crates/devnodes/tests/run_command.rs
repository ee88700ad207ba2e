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

#[test]
fn runs_the_app_with_node_urls_keeps_data_and_refuses_a_second_run() {
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
