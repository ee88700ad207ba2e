//! The world as a scene finds it (the parties' data folders, an anvil snapshot, the
//! IPFS node's pins as CAR files, since a broken run may unpin and collect them), put
//! back before each kill or fault schedule.

use std::path::{Path, PathBuf};

use crate::check;
use crate::world::Nodes;

/// The world as a scene finds it, to put back before each kill.
pub struct Kept {
    folder: PathBuf,
    snapshot: std::sync::Mutex<serde_json::Value>,
    cars: Vec<Vec<u8>>,
}

impl Kept {
    /// Keeps `world` (under `root`, named `name`) and the nodes' state.
    pub async fn keep(root: &Path, name: &str, world: &Path, nodes: &Nodes) -> Self {
        let folder = root.join(format!("kept-{name}"));
        copy_dir(world, &folder);
        let snapshot = medwallet_ledger::testing::snapshot(&nodes.ledger.url)
            .await
            .unwrap();
        let cars = check::export_pins(&nodes.ipfs).await;
        Self {
            folder,
            snapshot: std::sync::Mutex::new(snapshot),
            cars,
        }
    }

    /// The folders copied back, the chain reverted (a new snapshot taken, since a revert
    /// uses its snapshot up), the pins imported again.
    pub async fn restore(&self, world: &Path, nodes: &Nodes) {
        std::fs::remove_dir_all(world).unwrap();
        copy_dir(&self.folder, world);
        let url = &nodes.ledger.url;
        let old = self.snapshot.lock().unwrap().clone();
        medwallet_ledger::testing::revert_to(url, old)
            .await
            .unwrap();
        *self.snapshot.lock().unwrap() = medwallet_ledger::testing::snapshot(url).await.unwrap();
        check::import_pins(&nodes.ipfs, &self.cars).await;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            match std::fs::copy(entry.path(), target) {
                Ok(_) => {}
                // SQLite removes a database's -wal and -shm files when its last
                // connection closes, which a closed pool may still be doing.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("copying {}: {e}", entry.path().display()),
            }
        }
    }
}
