//! The app's start under faults (issue 19): a second launch on the same data folder hands
//! over to the first window and exits; a damaged records database is named at start,
//! kept aside, and the wallet's records come back with "Rebuild from the ledger".

use std::time::Duration;

use medwallet_e2e::{app_binary, eventually, App, Nodes};

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
const PDF: &[u8] = include_bytes!("../fixtures/lab-report.pdf");

/// How long the rebuild may take: it reads the whole (small) chain and opens one record.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);

/// The first app's log lines so far.
fn log_text(data_dir: &std::path::Path) -> String {
    let Ok(entries) = std::fs::read_dir(data_dir.join("logs")) else {
        return String::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

#[tokio::test]
async fn a_second_launch_on_the_same_folder_focuses_the_first_window_and_exits() {
    let nodes = Nodes::start().await;
    let env = nodes.app_env();
    let mut app = App::launch("second_launch", &env).await;
    app.wait_text("#onboarding-title", |t| t.contains("Welcome"))
        .await;

    // The same binary, the same data folder, as a user double-clicking it again.
    let mut second = std::process::Command::new(app_binary())
        .env("MEDWALLET_DATA_DIR", app.data_dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the app starts");
    let exited = tokio::time::timeout(
        medwallet_e2e::UI_TIMEOUT,
        tokio::task::spawn_blocking(move || second.wait()),
    )
    .await
    .expect("the second launch exits by itself")
    .unwrap()
    .unwrap();
    assert!(exited.success(), "{exited:?}");

    // The first one was told, and its window still works.
    let data_dir = app.data_dir.path().to_owned();
    eventually("the first app hears of the second launch", || {
        let text = log_text(&data_dir);
        async move {
            text.contains("a second launch on this data folder handed over")
                .then_some(())
        }
    })
    .await;
    app.click("#start-create").await;
    app.find("#role-patient").await;
    app.screenshot("first-window-still-there").await;
    app.close().await;
}

#[tokio::test]
async fn a_damaged_records_database_is_named_kept_aside_and_rebuilt() {
    let nodes = Nodes::start().await;
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch("damaged_records_before", &env).await;
    app.create_wallet("patient", "Ada Lovelace", PASSPHRASE)
        .await;
    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("blood_panel.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    app.wait_records_empty().await;
    app.choose("#add-pick", &[&pdf]).await;
    app.wait_value("#draft-0-title", |v| !v.is_empty()).await;
    app.click("#add-confirm").await;
    let row = "li.record-row[data-title=\"Blood panel\"]";
    app.wait_text(&format!("{row} .record-ledger"), |t| {
        t.contains("On the ledger")
    })
    .await;
    let data_dir = app.quit().await;

    // Garbage over the records database's header.
    let records = data_dir.path().join("records");
    let wallet_dir = std::fs::read_dir(&records)
        .unwrap()
        .flatten()
        .next()
        .expect("the wallet's records folder")
        .path();
    let path = wallet_dir.join("records.sqlite");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..100].fill(0x5a);
    std::fs::write(&path, &bytes).unwrap();
    // The app may leave its last pages in the write-ahead log, page 1 included, which
    // SQLite would read instead of the damaged header: a log with a garbled header is
    // one SQLite ignores.
    let wal = wallet_dir.join("records.sqlite-wal");
    if let Ok(mut log) = std::fs::read(&wal) {
        let n = log.len().min(32);
        log[..n].fill(0x5a);
        std::fs::write(&wal, &log).unwrap();
    }

    let mut app = App::launch_in("damaged_records_after", &env, data_dir).await;
    let notice = app
        .wait_text("#startup-notice-0", |t| t.contains("records database"))
        .await;
    assert!(notice.contains(&path.display().to_string()), "{notice}");
    assert!(notice.contains("records.sqlite.damaged-"), "{notice}");
    assert!(notice.contains("Rebuild from the ledger"), "{notice}");
    app.screenshot("damaged-named").await;
    let kept: Vec<_> = std::fs::read_dir(&wallet_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("records.sqlite.damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(wallet_dir.join(&kept[0])).unwrap(), bytes);

    // Unlocked, the notice offers the rebuild; it brings the record back.
    app.fill("#unlock-passphrase", PASSPHRASE).await;
    app.click("#unlock").await;
    app.click("#startup-notices #rebuild-start").await;
    app.wait_text_within(&format!("#records-list {row}"), REBUILD_TIMEOUT, |t| {
        t.contains("Blood panel")
    })
    .await;
    app.screenshot("rebuilt").await;
    app.close().await;
}
