//! A wallet's records database damaged on disk (issue 19): at start it is named, kept
//! aside unchanged, the app works on a new one, and "Rebuild from the ledger" brings the
//! records back.

use medwallet_api::{NodeSettings, RecordSummary};
use medwallet_core::{App, Defaults};

use super::*;

/// Garbage over every page of the database at `path` but the first (its header and
/// schema are intact, so it opens: only SQLite's check of the pages finds the damage);
/// the bytes written.
fn garble_pages(path: &Path) -> Vec<u8> {
    const PAGE: usize = 4096;
    let mut bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() >= 4 * PAGE, "{} bytes", bytes.len());
    bytes[PAGE..].fill(0x5a);
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// Writes the database's log into its file and empties the log.
async fn checkpoint(path: &Path) {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint was blocked");
    conn.close().await.unwrap();
}

fn view(list: &[RecordSummary]) -> Vec<(String, u32, String)> {
    let mut out: Vec<_> = list
        .iter()
        .map(|r| (r.id.clone(), r.version, r.title.clone()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_damaged_records_database_is_kept_aside_and_rebuilt_from_the_ledger() {
    let nodes = Nodes::start().await;
    let dir = nodes.root.join("device");
    let owner = wallet(0x61, Role::Patient, "Ana");
    let records = RecordService::new(&dir);
    add(&nodes, &records, &owner, "lab.pdf", PDF, "Blood count").await;
    add(&nodes, &records, &owner, "note.txt", TEXT, "Discharge note").await;
    let before = view(&records.list(&owner).await.unwrap());
    assert_eq!(before.len(), 2);
    records.close().await;
    drop(records);

    let path = dir
        .join("records")
        .join(&owner.wallet_id)
        .join("records.sqlite");
    // The log written into the file before it is damaged, and emptied: a closed pool's
    // connections are let go in the background, so the checkpoint of the last one's
    // close is not waited for here; this one is.
    checkpoint(&path).await;
    let damaged = garble_pages(&path);
    let defaults = Defaults(NodeSettings {
        ipfs_url: nodes.ipfs.to_string(),
        ledger_url: nodes.ledger.url.to_string(),
        contract_address: nodes.ledger.contract.map(|c| c.to_string()),
        ..Default::default()
    });
    let app = App::open(&dir, None, defaults).await.unwrap();

    // Named, with where it is kept, and the wallet whose rebuild is offered.
    let notices = app.startup_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0].rebuild_wallet.as_deref(),
        Some(owner.wallet_id.as_str())
    );
    let kept: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("records.sqlite.damaged-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        damaged,
        "the damaged file changed"
    );
    let problem = &notices[0].problem;
    assert!(
        problem.message.contains(&path.display().to_string())
            && problem.message.contains(&kept[0].display().to_string()),
        "{problem:?}"
    );
    assert!(problem
        .hint
        .as_deref()
        .unwrap()
        .contains("Rebuild from the ledger"));

    // The app works on a new database: empty, until the rebuild.
    assert!(app.records.list(&owner).await.unwrap().is_empty());
    app.rebuild
        .ask(&app.records, &owner.wallet_id)
        .await
        .unwrap();
    let status = app
        .rebuild
        .run(&app.records, &app.audit, &owner, &nodes.ipfs, &nodes.ledger)
        .await
        .unwrap();
    assert_eq!(status.records_found, 2, "{status:?}");
    assert_eq!(view(&app.records.list(&owner).await.unwrap()), before);
    // The damaged copy is still there, unchanged.
    assert_eq!(std::fs::read(&kept[0]).unwrap(), damaged);
}
