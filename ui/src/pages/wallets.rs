//! Wallets: every wallet in this vault; switch (lock this one, unlock another), add, delete.

use medwallet_api::commands::{DeleteWallet, DeleteWalletArgs};
use medwallet_api::{Identity, UserError, WalletSummary};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::{error_box, Input};
use crate::components::identity::IdentityCard;
use crate::ipc;

/// Props of [`WalletsPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet.
    pub identity: Identity,
    /// Every wallet.
    pub wallets: Vec<WalletSummary>,
    /// Lock and show the lock screen with this wallet chosen.
    pub on_switch: Callback<String>,
    /// Create or restore another wallet.
    pub on_add: Callback<()>,
    /// Something changed (a wallet was deleted).
    pub on_changed: Callback<()>,
}

/// The list of wallets.
#[function_component(WalletsPage)]
pub fn wallets_page(props: &Props) -> Html {
    let deleting = use_state(|| None::<String>);
    let confirm = use_state(String::new);
    let error = use_state(|| None::<UserError>);

    let rows = props.wallets.iter().map(|w| {
        let current = w.wallet_id == props.identity.wallet_id;
        let switch = {
            let (cb, id) = (props.on_switch.clone(), w.wallet_id.clone());
            Callback::from(move |_| cb.emit(id.clone()))
        };
        let ask_delete = {
            let (deleting, confirm, error, id) = (deleting.clone(), confirm.clone(), error.clone(), w.wallet_id.clone());
            Callback::from(move |_| {
                confirm.set(String::new());
                error.set(None);
                deleting.set(Some(id.clone()));
            })
        };
        let is_deleting = deleting.as_ref() == Some(&w.wallet_id);
        let do_delete = {
            let (deleting, confirm, error, id, changed) =
                (deleting.clone(), confirm.clone(), error.clone(), w.wallet_id.clone(), props.on_changed.clone());
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                let args = DeleteWalletArgs { wallet_id: id.clone(), confirm_name: (*confirm).clone() };
                let (deleting, error, changed) = (deleting.clone(), error.clone(), changed.clone());
                spawn_local(async move {
                    match ipc::call::<DeleteWallet>(&args).await {
                        Ok(_) => {
                            deleting.set(None);
                            changed.emit(());
                        }
                        Err(e) => error.set(Some(e)),
                    }
                });
            })
        };
        let cancel = {
            let deleting = deleting.clone();
            Callback::from(move |_| deleting.set(None))
        };
        html! {
            <li class="card wallet-row" id={format!("wallet-{}", w.wallet_id)}>
                <div class="wallet-head">
                    <div>
                        <strong>{ &w.display_name }</strong>{ " " }<span class="role-badge">{ w.role.label() }</span>
                        if current { { " " }<span class="current">{ "unlocked now" }</span> }
                        <div><code class="muted">{ &w.address }</code></div>
                    </div>
                    <div class="actions">
                        if !current {
                            <button class="small" id={format!("switch-{}", w.wallet_id)} onclick={switch}
                                    aria-label={format!("Switch to {}", w.display_name)}>{ "Switch" }</button>
                        }
                        <button class="small danger" id={format!("delete-{}", w.wallet_id)} onclick={ask_delete}
                                aria-label={format!("Delete {}", w.display_name)}>{ "Delete" }</button>
                    </div>
                </div>
                if is_deleting {
                    <form class="form delete-confirm" onsubmit={do_delete} novalidate=true>
                        <p>{ "Deleting removes this wallet from this computer. Only its Emergency Kit can bring it back: its keys from the words, then what the ledger and the IPFS node still hold." }</p>
                        <Input id={format!("delete-confirm-{}", w.wallet_id)} label={format!("Type \"{}\" to confirm", w.display_name)}
                               value={(*confirm).clone()} oninput={ let c = confirm.clone(); Callback::from(move |v| c.set(v)) } />
                        <div class="actions">
                            <button type="button" onclick={cancel}>{ "Cancel" }</button>
                            <button type="submit" class="danger" id={format!("delete-confirm-button-{}", w.wallet_id)}>{ "Delete wallet" }</button>
                        </div>
                        if let Some(e) = &*error { { error_box("delete-error", e) } }
                    </form>
                }
            </li>
        }
    });
    let add = {
        let cb = props.on_add.clone();
        Callback::from(move |_| cb.emit(()))
    };
    html! {
        <section class="page" aria-labelledby="wallets-title">
            <h1 id="wallets-title">{ "Wallets" }</h1>
            <ul class="wallet-list">{ for rows }</ul>
            <p><button id="wallets-add" onclick={add}>{ "Create or restore another wallet" }</button></p>
            if props.identity.role == medwallet_api::Role::Clinic {
                <IdentityCard identity={props.identity.clone()} />
            }
        </section>
    }
}
