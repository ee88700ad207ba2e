//! A loopback TCP proxy that counts the JSON-RPC calls sent through it: tests and
//! benchmarks put it between a wallet and its ledger node to show what a use case asks
//! the node (a quiet background pass asks nothing).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The proxy: its URL, and the count of calls made through it so far.
#[derive(Debug, Clone)]
pub struct CountingProxy {
    url: String,
    calls: Arc<AtomicUsize>,
}

impl CountingProxy {
    /// Starts a proxy on a free `127.0.0.1` port to `upstream`; it runs until the process
    /// ends. Each call, single or in a batch, names its `"method"` once, and is counted.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (Ok(mut s_in), Ok(mut c_out)) = (server.try_clone(), client.try_clone()) else {
                    continue;
                };
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                });
                let counted = counted.clone();
                std::thread::spawn(move || forward_counting(client, server, &counted));
            }
        });
        Ok(Self { url, calls })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The calls made through the proxy so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Copies the client's bytes to the server, counting `"method"` keys. A key split across
/// two reads is found by keeping the last few bytes of each read.
fn forward_counting(mut client: TcpStream, mut server: TcpStream, counted: &AtomicUsize) {
    const KEY: &[u8] = b"\"method\"";
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut window = std::mem::take(&mut tail);
        window.extend_from_slice(&buf[..n]);
        let found = window.windows(KEY.len()).filter(|w| *w == KEY).count();
        counted.fetch_add(found, Ordering::SeqCst);
        let keep = window.len().min(KEY.len() - 1);
        tail = window[window.len() - keep..].to_vec();
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}
