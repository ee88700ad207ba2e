//! Generates the app's ACL: one `allow-<command>` permission per IPC command, from
//! the single list in the api crate, so the capability file can grant exactly those.
fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(medwallet_api::commands::ALL));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
