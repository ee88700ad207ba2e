//! The one typed IPC layer: every call to the shell goes through [`call`] (or
//! [`call_streaming`] for a command that also streams messages), with the command's name,
//! argument, answer and message types taken from `medwallet_api::commands`.
//! Pages never spell a command name.

use medwallet_api::{Command, Streaming, UserError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke`, injected by tauri (`app.withGlobalTauri`).
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `window.__TAURI__.core.Channel`: a stream of messages from one command to the webview.
    /// In the invoke payload it serializes to `__CHANNEL__:<id>`, which the shell turns into
    /// a `tauri::ipc::Channel<T>` parameter. It delivers messages in order, and unregisters
    /// itself when the shell drops its end.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = Channel)]
    type TauriChannel;

    #[wasm_bindgen(catch, constructor, js_namespace = ["window", "__TAURI__", "core"], js_class = Channel)]
    fn new() -> Result<TauriChannel, JsValue>;

    #[wasm_bindgen(method, setter = onmessage)]
    fn set_onmessage(this: &TauriChannel, handler: &JsValue);

    /// `Reflect.set`, to put the channel (a JS object, not serde data) into the payload.
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> Result<bool, JsValue>;

    /// `console.warn`, for messages the UI cannot read (a contract mismatch, not a user error).
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(message: &str);
}

/// Every command takes one parameter, `args`, of type `C::Args`.
#[derive(Serialize)]
struct Envelope<'a, T> {
    args: &'a T,
}

/// Calls command `C` in the shell.
pub async fn call<C: Command>(args: &C::Args) -> Result<C::Output, UserError> {
    let payload = encode(args)?;
    invoke::<C>(payload).await
}

/// Calls the streaming command `C`: `on_message` gets each message the shell sends on the
/// command's channel (the handler's `progress` parameter), in order, while it runs.
///
/// The handler is owned by the channel, which the webview keeps registered until the shell
/// drops its end: it lives as long as the call (messages that arrive just after the
/// answer are still delivered), and for as long as the shell keeps the channel (a
/// subscription such as `WatchDrops` lasts the app's life). Its memory goes with the
/// channel.
pub async fn call_streaming<C: Streaming>(
    args: &C::Args,
    on_message: impl Fn(C::Progress) + 'static,
) -> Result<C::Output, UserError> {
    let payload = encode(args)?;
    let channel = TauriChannel::new()
        .map_err(|e| internal(format!("no IPC channel: {}", describe_js_error(&e))))?;
    let handler =
        Closure::<dyn Fn(JsValue)>::new(
            move |message: JsValue| match serde_wasm_bindgen::from_value::<C::Progress>(message) {
                Ok(message) => on_message(message),
                Err(e) => console_warn(&format!("{}: unreadable message: {e}", C::NAME)),
            },
        );
    // Owned by the JS side from here on (see above).
    channel.set_onmessage(&handler.into_js_value());
    reflect_set(&payload, "progress", &channel).map_err(|e| {
        internal(format!(
            "could not attach the channel: {}",
            describe_js_error(&e)
        ))
    })?;
    invoke::<C>(payload).await
}

/// `{ args }` as a plain JS object.
fn encode<T: Serialize>(args: &T) -> Result<JsValue, UserError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Envelope { args }
        .serialize(&serializer)
        .map_err(|e| internal(format!("could not encode the request: {e}")))
}

async fn invoke<C: Command>(payload: JsValue) -> Result<C::Output, UserError> {
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
