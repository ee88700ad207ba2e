//! A patient creates a wallet, writes down and confirms the Emergency Kit, sees the wallet's
//! address, locks, is refused a wrong passphrase, unlocks, and restores the same recovery
//! words in a second app data folder to the same address.
//!
//! `MEDWALLET_INSECURE_TEST_KDF=1` makes the app use tiny Argon2 parameters so that the test
//! does not wait for real calibration and unlocks; the real app never sets it.

use medwallet_e2e::{App, Nodes};

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";

fn env(nodes: &Nodes) -> Vec<(&'static str, String)> {
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    env
}

#[tokio::test]
async fn create_confirm_kit_lock_unlock_and_restore_elsewhere() {
    let nodes = Nodes::start().await;
    let env = env(&nodes);
    let mut app = App::launch("wallet_create_restore", &env).await;

    // Onboarding: create a patient wallet with a strong passphrase.
    app.wait_text("#onboarding-title", |t| t.contains("Welcome"))
        .await;
    app.screenshot("onboarding").await;
    app.click("#start-create").await;
    app.click("#role-patient").await;
    app.fill("#wallet-name", "Ada Lovelace").await;
    app.fill("#passphrase", "password1").await;
    app.wait_text("#strength-label", |t| t.contains("guess"))
        .await;
    assert!(
        app.exists("#accept-weak").await,
        "a weak passphrase must be accepted explicitly"
    );
    app.screenshot("weak-passphrase-warned").await;
    app.fill("#passphrase", PASSPHRASE).await;
    app.fill("#passphrase-again", PASSPHRASE).await;
    app.wait_text("#strength-label", |t| {
        t.contains("strong") || t.contains("Strong")
    })
    .await;
    app.screenshot("create-form").await;
    app.click("#create-wallet").await;

    // The Emergency Kit: 24 words, a printable file, then three words typed back.
    app.wait_text("#kit-title", |t| t.contains("recovery words"))
        .await;
    let mut words = Vec::new();
    for i in 1..=24 {
        words.push(
            app.wait_text(&format!("#kit-word-{i}"), |t| !t.is_empty())
                .await,
        );
    }
    app.screenshot("kit-words").await;
    app.click("#kit-export").await;
    let saved = app.wait_text("#kit-path", |t| t.contains("Saved to")).await;
    assert!(saved.contains(".html"), "{saved}");
    let html_path = saved
        .trim_start_matches("Saved to ")
        .split(".html")
        .next()
        .unwrap()
        .to_owned()
        + ".html";
    let html = std::fs::read_to_string(&html_path).expect("the printable kit file exists");
    assert!(html.contains(&words[0]) && html.contains(&words[23]));
    app.click("#kit-next").await;
    app.wait_text("#kit-title", |t| t.contains("Check")).await;
    let mut asked = 0;
    for pos in 1..=24 {
        if app.exists(&format!("#kit-confirm-{pos}")).await {
            app.fill(&format!("#kit-confirm-{pos}"), "wrong").await;
            asked += 1;
        }
    }
    assert_eq!(asked, 3);
    app.click("#kit-confirm").await;
    app.wait_text("#kit-error", |t| t.contains("do not match"))
        .await;
    app.screenshot("kit-confirm-mismatch").await;
    for pos in 1..=24 {
        if app.exists(&format!("#kit-confirm-{pos}")).await {
            app.fill(&format!("#kit-confirm-{pos}"), &words[pos - 1])
                .await;
        }
    }
    app.screenshot("kit-confirm").await;
    app.click("#kit-confirm").await;

    // The wallet's public identity (a patient lands on Records; the keys are one click away).
    app.click("#nav-keys").await;
    let address = app
        .wait_text("#identity-address", |t| {
            t.starts_with("0x") && t.len() == 42
        })
        .await;
    assert_eq!(
        app.wait_text("#identity-role", |t| !t.is_empty()).await,
        "Patient"
    );
    app.screenshot("identity").await;

    // Lock; a wrong passphrase is refused with a clear message; the right one unlocks.
    app.click("#lock").await;
    app.wait_text("#unlock-title", |t| t.contains("locked"))
        .await;
    app.screenshot("locked").await;
    app.fill("#unlock-passphrase", "not my passphrase").await;
    app.click("#unlock").await;
    let refused = app.wait_text("#unlock-error", |t| !t.is_empty()).await;
    assert!(
        refused.contains("That passphrase is not right."),
        "{refused}"
    );
    app.screenshot("wrong-passphrase").await;
    app.fill("#unlock-passphrase", PASSPHRASE).await;
    app.click("#unlock").await;
    app.click("#nav-keys").await;
    assert_eq!(
        app.wait_text("#identity-address", |t| t.starts_with("0x"))
            .await,
        address
    );
    app.screenshot("unlocked-again").await;
    app.click("#nav-wallets").await;
    app.wait_text("#wallets-title", |t| t == "Wallets").await;
    app.screenshot("wallets").await;
    app.click("#nav-settings").await;
    app.find("#change-passphrase").await;
    app.screenshot("settings").await;
    app.close().await;

    // Restore the same words into another app data folder: same address.
    let mut second = App::launch("wallet_restore_elsewhere", &env).await;
    second
        .wait_text("#onboarding-title", |t| t.contains("Welcome"))
        .await;
    second.click("#start-restore").await;
    let mut typo = words.clone();
    typo[4] = format!("{}q", typo[4]);
    second.fill("#restore-phrase", &typo.join(" ")).await;
    second.fill("#wallet-name", "Ada (laptop)").await;
    second.fill("#passphrase", PASSPHRASE).await;
    second.fill("#passphrase-again", PASSPHRASE).await;
    second.click("#restore-wallet").await;
    let named = second
        .wait_text("#onboarding-error", |t| !t.is_empty())
        .await;
    assert!(named.contains("Word 5"), "the typo is named: {named}");
    second.screenshot("restore-typo-named").await;
    second.fill("#restore-phrase", &words.join(" ")).await;
    second.click("#restore-wallet").await;
    second.click("#nav-keys").await;
    assert_eq!(
        second
            .wait_text("#identity-address", |t| t.starts_with("0x"))
            .await,
        address
    );
    second.screenshot("restored-same-address").await;
    second.close().await;
}
