//! medwallet's UI: Yew function components, talking to the Rust shell only through
//! the typed IPC layer in [`ipc`]. It receives display data, never keys.
#![forbid(unsafe_code)]

mod app;
mod components;
mod ipc;
mod pages;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
