//! A patient adds a PDF and an X-ray image chosen in the app's file chooser (there is no
//! path to type), watches them encrypt and upload, finds them in the list as on IPFS, and
//! opens both: the PDF rendered page by page, the image shown, each with the verification
//! line; a decrypted copy of the PDF is saved where the save dialog says. A big video
//! shows its progress and is cancelled. Both records' registrations then appear in the
//! audit trail, read back from the ledger node, and are exported to the file chosen.

use medwallet_e2e::{App, Nodes};

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
const PDF: &[u8] = include_bytes!("../fixtures/lab-report.pdf");
const PNG: &[u8] = include_bytes!("../fixtures/xray.png");

/// An MP4 header and `mib` MiB of noise (one MiB repeated: the encryption makes it all
/// look alike anyway): a file big enough to watch its progress.
fn write_big_video(path: &std::path::Path, mib: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2")
        .unwrap();
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x2545f4914f6cdd1du64;
    for b in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    for _ in 0..mib {
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

#[tokio::test]
async fn add_a_pdf_and_an_image_see_progress_and_open_them() {
    let nodes = Nodes::start().await;
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    // Debug, so the log checked at the end holds everything medwallet can write.
    env.push(("MEDWALLET_LOG", "debug".to_owned()));
    let mut app = App::launch("records_add_open", &env).await;
    let words = app
        .create_wallet("patient", "Ada Lovelace", PASSPHRASE)
        .await;

    // Records is the patient's first page, empty at first.
    app.wait_records_empty().await;
    app.screenshot("records-empty").await;

    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("blood_panel-march.pdf");
    let png = files.path().join("chest_xray.png");
    std::fs::write(&pdf, PDF).unwrap();
    std::fs::write(&png, PNG).unwrap();

    // Files are chosen, never typed: no path field.
    assert!(!app.exists("#add-path").await);
    assert!(!app.exists("input[type=\"text\"][placeholder*=\"/\"]").await);
    // A file gone since it was chosen is refused with its reason; nothing is added.
    app.choose("#add-pick", &[&files.path().join("missing.pdf")])
        .await;
    app.wait_text("#add-refused", |t| {
        t.contains("missing.pdf") && t.contains("does not exist")
    })
    .await;
    app.screenshot("missing-file-refused").await;

    app.choose("#add-pick", &[&pdf, &png]).await;
    // Proposed metadata from the files: titles from the names, categories from the kinds.
    assert_eq!(
        app.wait_value("#draft-0-title", |v| !v.is_empty()).await,
        "Blood panel march"
    );
    app.wait_text("fieldset.draft:nth-of-type(2)", |t| !t.is_empty())
        .await;
    app.screenshot("drafts").await;
    app.click("#add-confirm").await;

    // Progress per file, then both added.
    app.find("#add-jobs progress").await;
    app.screenshot("progress").await;
    for name in ["blood_panel-march.pdf", "chest_xray.png"] {
        app.wait_text(
            &format!("li.job[data-file-name=\"{name}\"][data-state=\"added\"]"),
            |t| t.contains("Added"),
        )
        .await;
    }
    app.screenshot("added").await;

    // Both in the list, on IPFS.
    app.wait_text("#records-list", |t| {
        t.contains("Blood panel march") && t.contains("Chest xray")
    })
    .await;
    for status in app
        .wait_texts(".record-status[data-status=\"on-ipfs\"]", 2)
        .await
    {
        assert_eq!(status, "On IPFS");
    }
    app.wait_texts("li.record-row", 2).await;
    app.screenshot("list").await;

    // Open the PDF: rendered pages, verified from IPFS.
    app.click("li.record-row[data-title=\"Blood panel march\"] .record-open")
        .await;
    let verified = app
        .wait_text("#viewer-verified", |t| {
            t.contains("Verified: content, manifest and capsule")
        })
        .await;
    assert!(verified.contains("from IPFS"), "{verified}");
    app.find("#viewer-content[data-kind=\"pdf\"] #viewer-page-2")
        .await;
    app.screenshot("pdf-open").await;
    // A decrypted copy, where the save dialog says: the same bytes.
    let copy = files.path().join("copy of blood panel.pdf");
    app.choose("#viewer-save", &[&copy]).await;
    app.wait_text("#viewer-saved", |t| t.contains("Saved a decrypted copy"))
        .await;
    assert_eq!(std::fs::read(&copy).unwrap(), PDF);
    app.click("#viewer-close").await;

    // Open the image.
    app.click("li.record-row[data-title=\"Chest xray\"] .record-open")
        .await;
    app.wait_text("#viewer-verified", |t| t.contains("from IPFS"))
        .await;
    app.find("#viewer-content[data-kind=\"image\"] #viewer-image")
        .await;
    app.screenshot("image-open").await;
    app.click("#viewer-close").await;

    // A big video: its progress bar moves, and Cancel leaves nothing behind.
    let video = files.path().join("knee_surgery.mp4");
    write_big_video(&video, 768);
    app.choose("#add-pick", &[&video]).await;
    app.find("#draft-0-title").await;
    app.click("#add-confirm").await;
    let job = "li.job[data-file-name=\"knee_surgery.mp4\"]";
    let label = app
        .wait_text(&format!("{job} [id$=\"-label\"]"), |t| {
            (t.contains("Encrypting") || t.contains("Uploading")) && t.contains('%')
        })
        .await;
    assert!(label.contains("knee_surgery.mp4"), "{label}");
    app.screenshot("big-file-progress").await;
    app.click(&format!("{job} .job-cancel")).await;
    app.wait_text(&format!("{job}[data-state=\"cancelled\"]"), |t| {
        t.contains("Nothing of this file was kept")
    })
    .await;
    app.screenshot("big-file-cancelled").await;
    // The list reloads on its own timer: it may have shown the video while it uploaded.
    app.wait_texts("li.record-row", 2).await;

    // Both registrations are on the ledger, read back as the audit trail.
    for mark in app
        .wait_texts(".record-ledger[data-ledger=\"registered\"]", 2)
        .await
    {
        assert!(!mark.is_empty());
    }
    app.click("#nav-audit").await;
    app.wait_text("#audit-chain", |t| t.contains("424242"))
        .await;
    let mut titles = Vec::new();
    for text in app
        .wait_texts("li.audit-entry[data-action=\"uploaded\"]", 2)
        .await
    {
        assert!(text.contains("You"), "{text}");
        titles.extend(
            ["Blood panel march", "Chest xray"]
                .into_iter()
                .filter(|t| text.contains(t)),
        );
    }
    titles.sort_unstable();
    assert_eq!(titles, ["Blood panel march", "Chest xray"]);
    // One ledger node in the settings: the entries say so, not a bare "Verified".
    let verified = app
        .wait_text("li.audit-entry .audit-verified", |t| {
            t.contains("From 1 node")
        })
        .await;
    assert!(
        verified.contains("block") && verified.contains("tx 0x"),
        "{verified}"
    );
    app.screenshot("audit-trail").await;
    // Exported as CSV to the file the save dialog answers.
    let csv = files.path().join("audit.csv");
    app.choose("#audit-export-csv", &[&csv]).await;
    app.wait_text("#audit-export-result", |t| t.contains("Saved"))
        .await;
    let exported = std::fs::read_to_string(&csv).unwrap();
    assert!(exported.contains("Blood panel march"), "{exported}");

    // The whole story is in the log, and nothing a user would not send with a bug report.
    app.assert_logs_keep_secrets(
        &words,
        &[
            PASSPHRASE,
            "Ada Lovelace",
            "Blood panel march",
            "Chest xray",
            "blood_panel-march",
            "chest_xray",
            "knee_surgery",
        ],
    );
    app.close().await;
}
