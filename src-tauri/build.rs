//! Generates the app's ACL: one `allow-<command>` permission per IPC command, from
//! the single list in the api crate, so the capability file can grant exactly those.
fn main() {
    // tauri-build reads the capability files but does not ask to run again when they
    // change: without this, an edited capability leaves the old one in the app.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(medwallet_api::commands::ALL));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
