//! A desktop's notification server for the stories: `org.freedesktop.Notifications` on the
//! session bus the app was started under (`scripts/with-secret-service`'s private bus),
//! keeping every notification the app sends, so a story checks the OS notification itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One notification as the app sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The sending app's name.
    pub app_name: String,
    /// Its title (the specification's summary).
    pub summary: String,
    /// Its text.
    pub body: String,
}

struct Server {
    shown: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().unwrap();
        shown.push(Shown {
            app_name,
            summary,
            body,
        });
        u32::try_from(shown.len()).unwrap_or(u32::MAX)
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".to_owned()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "medwallet-e2e".to_owned(),
            "medwallet".to_owned(),
            "0".to_owned(),
            "1.2".to_owned(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// The server, registered on the session bus until dropped.
pub struct Notifications {
    _connection: zbus::Connection,
    shown: Arc<Mutex<Vec<Shown>>>,
}

impl Notifications {
    /// Serves `org.freedesktop.Notifications` on the session bus (`DBUS_SESSION_BUS_ADDRESS`:
    /// run the stories under `scripts/with-secret-service`, as `scripts/test` does).
    pub async fn serve() -> Self {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let server = Server {
            shown: shown.clone(),
        };
        let connection = zbus::connection::Builder::session()
            .and_then(|b| b.name("org.freedesktop.Notifications"))
            .and_then(|b| b.serve_at("/org/freedesktop/Notifications", server))
            .expect("a session bus (run under scripts/with-secret-service)")
            .build()
            .await
            .expect("org.freedesktop.Notifications served on the session bus (run under scripts/with-secret-service)");
        Self {
            _connection: connection,
            shown,
        }
    }

    /// What was shown so far, oldest first.
    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().unwrap().clone()
    }
}
