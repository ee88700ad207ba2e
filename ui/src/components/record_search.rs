//! Finding records by title, a page at a time: the shell searches the wallet's records
//! (`list_records`), the window never holds them all. Typing is debounced, so a quick
//! word sends one query, not one per key.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use medwallet_api::commands::ListRecords;
use medwallet_api::{RecordPage, RecordQuery};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::ipc;

/// How long typing rests before the search is asked.
pub const DEBOUNCE_MS: u32 = 250;

/// `value` once it has stayed the same for [`DEBOUNCE_MS`] (at once when it is empty:
/// clearing a search needs no wait).
#[hook]
pub fn use_debounced(value: String) -> String {
    let settled = use_state_eq(|| value.clone());
    {
        let settled = settled.clone();
        use_effect_with(value, move |value| {
            let value = value.clone();
            let timer = if value.trim().is_empty() {
                settled.set(value);
                None
            } else {
                Some(Timeout::new(DEBOUNCE_MS, move || settled.set(value)))
            };
            move || drop(timer)
        });
    }
    (*settled).clone()
}

/// The first `limit` records whose title contains `search` (debounced), and how many
/// match; `None` until the first answer. Answers that come back after a newer question
/// are dropped.
#[hook]
pub fn use_found_records(search: String, limit: u32) -> Option<Rc<RecordPage>> {
    let search = use_debounced(search);
    let found = use_state_eq(|| None::<Rc<RecordPage>>);
    let asked = use_mut_ref(|| Cell::new(0u64));
    {
        let found = found.clone();
        use_effect_with(search, move |search| {
            let seq = {
                let asked = asked.borrow();
                asked.set(asked.get() + 1);
                asked.get()
            };
            let query = RecordQuery::search(search, limit);
            spawn_local(async move {
                if let Ok(page) = ipc::call::<ListRecords>(&query).await {
                    if asked.borrow().get() == seq {
                        found.set(Some(Rc::new(page)));
                    }
                }
            });
        });
    }
    (*found).clone()
}
