//! Copying text to the system clipboard, and a Copy button.

use medwallet_api::UserError;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;

/// Puts `text` on the clipboard. Call it from a click handler, before any other `await`:
/// the webview lets a page write to the clipboard only while it handles the user's gesture.
pub async fn copy_text(text: &str) -> Result<(), UserError> {
    let refused = || {
        UserError::new(
            "The text could not be copied to the clipboard.",
            "Select it and copy it with Ctrl+C instead.",
        )
    };
    let window = web_sys::window().ok_or_else(refused)?;
    JsFuture::from(window.navigator().clipboard().write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| refused())
}

/// Props of [`CopyButton`].
#[derive(Properties, PartialEq)]
pub struct CopyProps {
    /// What is copied.
    pub text: AttrValue,
    /// What it is, for screen readers: "Copy <label>".
    pub label: AttrValue,
    /// Extra classes (the end-to-end tests find a button by its class).
    #[prop_or_default]
    pub class: Classes,
}

/// A small "Copy" button that copies `text` and says "Copied ✓" once it did, or beside it
/// the error in the user's words (select and copy instead) when the webview refused.
#[function_component(CopyButton)]
pub fn copy_button(props: &CopyProps) -> Html {
    let copied = use_state_eq(|| None::<Result<(), UserError>>);
    let onclick = {
        let (copied, text) = (copied.clone(), props.text.clone());
        Callback::from(move |_| {
            let (copied, text) = (copied.clone(), text.clone());
            spawn_local(async move { copied.set(Some(copy_text(&text).await)) });
        })
    };
    let done = matches!(&*copied, Some(Ok(())));
    html! {
        <>
            <button type="button" class={classes!("small", "copy", props.class.clone())} {onclick}
                    aria-label={format!("Copy {}", props.label)}>{ if done { "Copied ✓" } else { "Copy" } }</button>
            if let Some(Err(error)) = &*copied {
                <span class="field-error copy-error" role="alert">
                    { &error.message }{ " " }{ error.hint.clone().unwrap_or_default() }
                </span>
            }
        </>
    }
}
