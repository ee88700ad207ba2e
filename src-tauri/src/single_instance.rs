//! One app per data folder, between launches of the app itself: a second launch on the
//! same folder hands its arguments to the first (over D-Bus on Linux:
//! tauri-plugin-single-instance), which shows and focuses its window, and exits before
//! it opens anything. Any other process on the folder meets core's lock instead
//! (`medwallet_core::data_folder`), which also covers a session without D-Bus.
//!
//! The D-Bus name is the app's identifier for the default data folder, and the
//! identifier plus a digest of the folder's path for `$MEDWALLET_DATA_DIR`: apps on other
//! folders (`scripts/run --network` opens one per role, the e2e stories one per party)
//! run side by side.

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Wry};

/// The plugin, keyed by the data folder.
pub fn plugin(identifier: &str) -> TauriPlugin<Wry> {
    let builder = tauri_plugin_single_instance::Builder::new().callback(focus);
    match std::env::var_os("MEDWALLET_DATA_DIR") {
        Some(dir) => {
            // Made first, so that its path resolves (a link in it) the same at the first
            // launch as at every later one: the name must not change once the folder
            // exists.
            let _ = std::fs::create_dir_all(&dir);
            builder.dbus_id(dbus_id(identifier, std::path::Path::new(&dir)))
        }
        None => builder,
    }
    .build()
}

/// `<identifier>.d<16 hex digits>`: a D-Bus name element starts with a letter. The
/// digest (FNV-1a, not a secret: only a name that differs per folder) is of the
/// folder's absolute path, resolved when it exists, so `./data` and its full path match.
fn dbus_id(identifier: &str, dir: &std::path::Path) -> String {
    let path = std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_owned());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{identifier}.d{hash:016x}")
}

/// The first app's side: its window comes to the front.
fn focus(app: &AppHandle, _args: Vec<String>, _cwd: String) {
    tracing::info!("a second launch on this data folder handed over");
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::dbus_id;

    #[test]
    fn each_folder_has_its_own_name_and_a_valid_one() {
        let a = dbus_id("org.medwallet.desktop", std::path::Path::new("/tmp/a"));
        let b = dbus_id("org.medwallet.desktop", std::path::Path::new("/tmp/b"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            dbus_id("org.medwallet.desktop", std::path::Path::new("/tmp/a"))
        );
        let last = a.rsplit('.').next().unwrap();
        assert!(last.starts_with('d') && last.len() == 17, "{a}");
    }
}
