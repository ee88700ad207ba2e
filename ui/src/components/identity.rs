//! A wallet's public identity with copy buttons.

use medwallet_api::Identity;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::clipboard::copy_text;

/// Props of [`IdentityCard`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The wallet.
    pub identity: Identity,
}

/// Address, public keys and role, each with a Copy button.
#[function_component(IdentityCard)]
pub fn identity_card(props: &Props) -> Html {
    let copied = use_state(|| None::<&'static str>);
    let row = |id: &'static str, label: &'static str, help: &'static str, value: &str| {
        let onclick = {
            let (copied, value) = (copied.clone(), value.to_owned());
            Callback::from(move |_| {
                let (copied, value) = (copied.clone(), value.clone());
                spawn_local(async move {
                    if copy_text(&value).await.is_ok() {
                        copied.set(Some(id));
                    }
                });
            })
        };
        let done = *copied == Some(id);
        html! {
            <div class="id-row">
                <dt id={format!("{id}-label")}>{ label }<span class="muted id-help">{ help }</span></dt>
                <dd>
                    <code id={id} class="id-value">{ value.to_owned() }</code>
                    <button id={format!("copy-{id}")} class="small" {onclick}
                            aria-label={format!("Copy {}", label.to_lowercase())}>
                        { if done { "Copied ✓" } else { "Copy" } }
                    </button>
                </dd>
            </div>
        }
    };
    let i = &props.identity;
    html! {
        <section class="card identity" aria-labelledby="identity-title">
            <h2 id="identity-title">{ &i.display_name }<span class="role-badge" id="identity-role">{ i.role.label() }</span></h2>
            <p class="muted">{ "Share these with people who send you records. They are public: they cannot be used to open anything." }</p>
            <dl>
                { row("identity-address", "Wallet address", "Your account on the ledger", &i.address) }
                { row("identity-signing", "Signing key", "Proves that something came from you", &i.signing_key) }
                { row("identity-encryption", "Encryption key", "Lets others encrypt to you", &i.encryption_key) }
            </dl>
            if !i.fingerprint.is_empty() {
                <p id="identity-fingerprint" class="fingerprint">
                    <strong>{ "Key fingerprint: " }</strong><code>{ &i.fingerprint }</code>
                    <span class="muted">{ " · someone sharing with you by your address sees it too: read it to them so they can check it is you." }</span>
                </p>
            }
        </section>
    }
}
