//! The one typed IPC layer: every call to the shell goes through [`call`], with the
//! command's name, argument and answer types taken from `medwallet_api::commands`.
//! Pages never spell a command name.

use medwallet_api::{Command, UserError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke`, injected by tauri (`app.withGlobalTauri`).
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Every command takes one parameter, `args`, of type `C::Args`.
#[derive(Serialize)]
struct Envelope<'a, T> {
    args: &'a T,
}

/// Calls command `C` in the shell.
pub async fn call<C: Command>(args: &C::Args) -> Result<C::Output, UserError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let payload = Envelope { args }
        .serialize(&serializer)
        .map_err(|e| internal(format!("could not encode the request: {e}")))?;
    match tauri_invoke(C::NAME, payload).await {
        Ok(answer) => serde_wasm_bindgen::from_value(answer)
            .map_err(|e| internal(format!("could not read the answer: {e}"))),
        Err(error) => Err(serde_wasm_bindgen::from_value::<UserError>(error.clone())
            .unwrap_or_else(|_| internal(describe_js_error(&error)))),
    }
}

fn internal(detail: String) -> UserError {
    UserError::new(
        format!("medwallet's window could not talk to the app ({detail})."),
        "Restart medwallet. If it keeps happening, report it with this message.",
    )
}

fn describe_js_error(error: &JsValue) -> String {
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}
