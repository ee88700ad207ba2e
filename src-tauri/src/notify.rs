//! OS notifications of what the background pass finds (an emergency opening of the
//! patient's records), shown from Rust by tauri-plugin-notification: the webview is granted
//! none of the plugin's commands. The words are core's
//! (`medwallet_core::audit::alerts::notification`): the kind and the clinic, never a
//! record's title, a file name or a person's name.

use medwallet_core::audit::alerts::Notification;
use medwallet_core::background::Notifier;
use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

/// Shows a notification through the OS (on Linux, `org.freedesktop.Notifications` on the
/// session bus).
pub struct OsNotifier<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> OsNotifier<R> {
    /// A notifier for `app`'s notifications.
    pub fn new(app: AppHandle<R>) -> Self {
        Self { app }
    }
}

impl<R: Runtime> Notifier for OsNotifier<R> {
    fn notify(&self, notification: &Notification) {
        let shown = self
            .app
            .notification()
            .builder()
            .title(&notification.title)
            .body(&notification.body)
            .show();
        // The words name a clinic's address only; the log says that one was shown.
        match shown {
            Ok(()) => tracing::info!("an emergency notification was sent to the OS"),
            Err(e) => tracing::warn!(error = %e, "the emergency notification was not shown"),
        }
    }
}
