//! Keys: the wallet's public identity, to share, and its signed share code.

use medwallet_api::commands::GetShareCode;
use medwallet_api::{Identity, NoArgs, ShareCodeText, UserError};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;

use crate::components::form::error_box;
use crate::components::identity::IdentityCard;
use crate::ipc;

/// Props of [`KeysPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet.
    pub identity: Identity,
}

/// The wallet's address and public keys, and its share code.
#[function_component(KeysPage)]
pub fn keys_page(props: &Props) -> Html {
    html! {
        <section class="page" aria-labelledby="keys-title">
            <h1 id="keys-title">{ "Keys" }</h1>
            <IdentityCard identity={props.identity.clone()} />
            <ShareCodeCard />
        </section>
    }
}

/// The share code: everything above, signed by this wallet, for the ledger's chain.
#[function_component(ShareCodeCard)]
fn share_code_card() -> Html {
    let code = use_state(|| None::<Result<ShareCodeText, UserError>>);
    let copied = use_state(|| false);
    {
        let code = code.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                code.set(Some(ipc::call::<GetShareCode>(&NoArgs {}).await));
            });
        });
    }
    let body = match &*code {
        None => {
            html! { <p class="busy" role="status"><span class="spinner" aria-hidden="true"></span>{ "Signing your share code…" }</p> }
        }
        Some(Err(e)) => error_box("share-code-error", e),
        Some(Ok(c)) => {
            let onclick = {
                let (copied, text) = (copied.clone(), c.code.clone());
                Callback::from(move |_| {
                    let (copied, text) = (copied.clone(), text.clone());
                    spawn_local(async move {
                        if let Some(window) = web_sys::window() {
                            let copy = window.navigator().clipboard().write_text(&text);
                            if JsFuture::from(copy).await.is_ok() {
                                copied.set(true);
                            }
                        }
                    });
                })
            };
            html! {
                <>
                    <code id="share-code" class="id-value share-code">{ &c.code }</code>
                    <p class="muted">{ format!("For ledger chain {}.", c.chain_id) }</p>
                    <button id="copy-share-code" class="small" {onclick}>{ if *copied { "Copied ✓" } else { "Copy share code" } }</button>
                </>
            }
        }
    };
    html! {
        <section class="card share-code-card" aria-labelledby="share-code-title">
            <h2 id="share-code-title">{ "Share code" }</h2>
            <p class="muted">{ "Your address and public keys, signed by this wallet. Someone who shares records with you can paste it instead of your address; their wallet checks the signature against the key you published on the ledger." }</p>
            { body }
        </section>
    }
}
