//! Copying text to the system clipboard.

use medwallet_api::UserError;
use wasm_bindgen_futures::JsFuture;

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
