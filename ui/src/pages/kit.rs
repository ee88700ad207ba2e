//! The Emergency Kit (full window), right after a wallet is created: the 24 words shown
//! once, what a restore from them brings back and what it needs, a printable copy saved to
//! a file, then three words typed back to prove they were written down. The words come
//! from `reveal_kit`, the only command that answers them.

use medwallet_api::commands::{ConfirmKit, ConfirmKitArgs, ExportKit, RevealKit};
use medwallet_api::{KitReveal, NoArgs, Role, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::{error_box, Input};
use crate::ipc;

/// Props of [`KitPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The wallet's role (what a restore rebuilds depends on it).
    pub role: Role,
    /// The kit was confirmed.
    pub on_done: Callback<()>,
}

/// Show, save, confirm.
#[function_component(KitPage)]
pub fn kit_page(props: &Props) -> Html {
    let kit = use_state(|| None::<KitReveal>);
    let error = use_state(|| None::<UserError>);
    let confirming = use_state(|| false);
    let answers = use_state(Vec::<(usize, String)>::new);
    let saved = use_state(|| None::<String>);

    {
        let (kit, error, answers) = (kit.clone(), error.clone(), answers.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                match ipc::call::<RevealKit>(&NoArgs {}).await {
                    Ok(k) => {
                        answers.set(
                            k.confirm_positions
                                .iter()
                                .map(|p| (*p, String::new()))
                                .collect(),
                        );
                        kit.set(Some(k));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        });
    }

    let Some(k) = &*kit else {
        return html! {
            <section class="page kit"><h1 id="kit-title">{ "Your Emergency Kit" }</h1>
                if let Some(e) = &*error { { error_box("kit-error", e) } } else { <p>{ "Loading…" }</p> }
            </section>
        };
    };

    let export = {
        let (saved, error) = (saved.clone(), error.clone());
        Callback::from(move |_| {
            let (saved, error) = (saved.clone(), error.clone());
            spawn_local(async move {
                match ipc::call::<ExportKit>(&NoArgs {}).await {
                    Ok(f) => saved.set(Some(f.path)),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    if !*confirming {
        let next = {
            let (confirming, error) = (confirming.clone(), error.clone());
            Callback::from(move |_| {
                error.set(None);
                confirming.set(true);
            })
        };
        return html! {
            <section class="page kit" aria-labelledby="kit-title">
                <h1 id="kit-title">{ "Write down your recovery words" }</h1>
                <p class="lead">{ "These 24 words are your wallet's keys. If this computer is lost or you forget your passphrase, they are the only way back into this wallet. medwallet shows them only now." }</p>
                <ul class="notice kit-rules">
                    <li>{ "Write them on paper, in order, or save the printable page and print it." }</li>
                    <li>{ "Keep them somewhere safe. Anyone with these words can open your records." }</li>
                    <li>{ "Never type them into a website or give them to anyone, including support." }</li>
                </ul>
                <ol id="kit-words" class="kit-words" aria-label="Recovery words">
                    { for k.words.iter().enumerate().map(|(i, w)| html! {
                        <li><span class="n">{ (i + 1).to_string() }</span><span class="w" id={format!("kit-word-{}", i + 1)}>{ w }</span></li>
                    }) }
                </ol>
                <p class="muted">{ format!("Wallet {} · created {}", k.address, k.date) }</p>
                { restore_brings_back(props.role) }
                <div class="actions">
                    <button id="kit-export" onclick={export}>{ "Save printable page" }</button>
                    <button id="kit-next" class="primary" onclick={next}>{ "I have written them down" }</button>
                </div>
                if let Some(path) = &*saved {
                    <p id="kit-path" class="notice ok" role="status">{ "Saved to " }<code>{ path }</code>{ ". Open it in a browser to print it, then keep the paper safe." }</p>
                }
                if let Some(e) = &*error { { error_box("kit-error", e) } }
            </section>
        };
    }

    let onsubmit = {
        let (answers, error, on_done) = (answers.clone(), error.clone(), props.on_done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let args = ConfirmKitArgs {
                answers: (*answers).clone(),
            };
            let (error, on_done) = (error.clone(), on_done.clone());
            spawn_local(async move {
                match ipc::call::<ConfirmKit>(&args).await {
                    Ok(_) => on_done.emit(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let back = {
        let confirming = confirming.clone();
        Callback::from(move |_| confirming.set(false))
    };
    html! {
        <section class="page kit" aria-labelledby="kit-title">
            <h1 id="kit-title">{ "Check your recovery words" }</h1>
            <p class="lead">{ "Type these words from what you wrote down, to be sure your copy is right." }</p>
            <form class="form" {onsubmit} novalidate=true>
                <fieldset>
                    <legend>{ "Words to type back" }</legend>
                    { for answers.iter().enumerate().map(|(i, (pos, value))| {
                        let answers = answers.clone();
                        let oninput = Callback::from(move |v: String| {
                            let mut next = (*answers).clone();
                            next[i].1 = v;
                            answers.set(next);
                        });
                        html! { <Input id={format!("kit-confirm-{pos}")} label={format!("Word number {pos}")} value={value.clone()} {oninput} /> }
                    }) }
                    <div class="actions">
                        <button id="kit-back" type="button" onclick={back}>{ "Show the words again" }</button>
                        <button id="kit-confirm" type="submit" class="primary">{ "Confirm" }</button>
                    </div>
                </fieldset>
            </form>
            if let Some(e) = &*error { { error_box("kit-error", e) } }
        </section>
    }
}

/// What "Restore from Emergency Kit" brings back, and what it needs: the words give the
/// keys; the rest is rebuilt from the ledger, and records' contents need an IPFS node.
pub fn restore_brings_back(role: Role) -> Html {
    let rebuilt = match role {
        Role::Patient => "Your records, the grants you gave and your groups are then rebuilt from the ledger, which keeps them.",
        Role::Doctor => "What patients share with you is then found again on the ledger.",
        Role::Clinic => "Your staff keys and your key epoch are then rebuilt from the ledger, which keeps them.",
    };
    html! {
        <div id="restore-scope" class="notice info restore-scope">
            <p><strong>{ "What a restore brings back" }</strong></p>
            <ul>
                <li>{ "The 24 words bring back your keys and this wallet's address, on any computer." }</li>
                <li>{ rebuilt }</li>
                <li>{ "The contents of records are not on the ledger: they need an IPFS node that still holds them (today, the node set in Settings). Keep that node, or a copy of its data; medwallet does not keep copies on more than one node yet." }</li>
            </ul>
        </div>
    }
}
