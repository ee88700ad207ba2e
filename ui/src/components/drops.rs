//! Files dropped on the window: `WatchDrops` streams them (the shell's tokens and the
//! files' names; their paths stay in the shell), subscribed once for the
//! app's life; the page shown hands them to its own listener (the Records page adds them,
//! the Front desk reads a QR picture). With no listener they are ignored: the pages are
//! where the user is told that files can be dropped.

use std::cell::RefCell;

use medwallet_api::commands::WatchDrops;
use medwallet_api::{ChosenFile, NoArgs};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::ipc;

#[derive(Default)]
struct DropStore {
    subscribed: bool,
    listener: Option<Callback<Vec<ChosenFile>>>,
}

thread_local! {
    static DROPS: RefCell<DropStore> = RefCell::new(DropStore::default());
}

/// Subscribes to the window's drops, once for the app's life (again only if it failed).
fn subscribe() {
    let first = DROPS.with(|d| !std::mem::replace(&mut d.borrow_mut().subscribed, true));
    if first {
        spawn_local(async {
            if ipc::call_streaming::<WatchDrops>(&NoArgs {}, on_drop)
                .await
                .is_err()
            {
                DROPS.with(|d| d.borrow_mut().subscribed = false);
            }
        });
    }
}

fn on_drop(files: Vec<ChosenFile>) {
    if let Some(listener) = DROPS.with(|d| d.borrow().listener.clone()) {
        if !files.is_empty() {
            listener.emit(files);
        }
    }
}

/// Hands the window's drops to `listener` while the calling component is shown.
#[hook]
pub fn use_drops(listener: Callback<Vec<ChosenFile>>) {
    use_effect_with((), move |_| {
        subscribe();
        DROPS.with(|d| d.borrow_mut().listener = Some(listener));
        || DROPS.with(|d| d.borrow_mut().listener = None)
    });
}
