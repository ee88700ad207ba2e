//! The onboarding (full window): create a wallet, or restore one from its Emergency Kit.

use medwallet_api::commands::{CreateWallet, NewWalletArgs, RestoreWallet, RestoreWalletArgs};
use medwallet_api::{Role, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::form::{error_box, Input, TextArea};
use crate::components::strength_meter::{use_passphrase_rating, StrengthMeter};
use crate::ipc;
use crate::pages::kit::restore_brings_back;

/// Which screen of the onboarding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Create or restore?
    Choose,
    /// A new wallet.
    Create,
    /// From the recovery phrase.
    Restore,
}

/// Props of [`OnboardingPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The first screen.
    pub mode: Mode,
    /// A wallet was created or restored.
    pub on_done: Callback<()>,
    /// Back to where the user came from (lock screen or app); none on a first start.
    #[prop_or_default]
    pub on_cancel: Option<Callback<()>>,
    /// The vault file is damaged: restoring goes into a new file.
    #[prop_or_default]
    pub damaged: bool,
}

/// Create or restore a wallet.
#[function_component(OnboardingPage)]
pub fn onboarding_page(props: &Props) -> Html {
    let mode = use_state(|| props.mode);
    let choose = |m: Mode| {
        let mode = mode.clone();
        Callback::from(move |_| mode.set(m))
    };
    let back: Option<Callback<MouseEvent>> = match (*mode, props.mode, &props.on_cancel) {
        (Mode::Choose, _, Some(cancel)) | (_, Mode::Create | Mode::Restore, Some(cancel)) => {
            let cancel = cancel.clone();
            Some(Callback::from(move |_| cancel.emit(())))
        }
        (Mode::Create | Mode::Restore, Mode::Choose, _) => Some(choose(Mode::Choose)),
        _ => None,
    };
    html! {
        <section class="page onboarding" aria-labelledby="onboarding-title">
            {
                match *mode {
                    Mode::Choose => html! {
                        <>
                            <h1 id="onboarding-title">{ "Welcome to medwallet" }</h1>
                            <p class="lead">{ "medwallet keeps the keys to your medical records on this computer, protected by a passphrase only you know. Start with a wallet." }</p>
                            <div class="choices">
                                <button id="start-create" class="choice" onclick={choose(Mode::Create)}>
                                    <strong>{ "Create a new wallet" }</strong>
                                    <span>{ "For a first start. You will get an Emergency Kit to keep safe." }</span>
                                </button>
                                <button id="start-restore" class="choice" onclick={choose(Mode::Restore)}>
                                    <strong>{ "Restore from Emergency Kit" }</strong>
                                    <span>{ "You have the 24 recovery words of an existing wallet." }</span>
                                </button>
                            </div>
                        </>
                    },
                    Mode::Create => html! { <WalletForm restore={false} on_done={props.on_done.clone()} damaged={props.damaged} /> },
                    Mode::Restore => html! { <WalletForm restore={true} on_done={props.on_done.clone()} damaged={props.damaged} /> },
                }
            }
            if let Some(onclick) = back {
                <p><button id="onboarding-back" class="link" {onclick}>{ "← Back" }</button></p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct FormProps {
    restore: bool,
    on_done: Callback<()>,
    damaged: bool,
}

/// The create form, or with `restore` the restore form (phrase first).
#[function_component(WalletForm)]
fn wallet_form(props: &FormProps) -> Html {
    let role = use_state(|| Role::Patient);
    let name = use_state(String::new);
    let phrase = use_state(String::new);
    // The ledger chain a restore expects (printed on the kit), optional.
    let chain = use_state(String::new);
    let pass = use_state(String::new);
    let again = use_state(String::new);
    let accept_weak = use_state(|| false);
    let error = use_state(|| None::<UserError>);
    let busy = use_state(|| false);

    // Rate the passphrase as it is typed.
    let report = use_passphrase_rating((*pass).clone(), (*name).clone());

    // Bring a new error into view: the form is taller than the window.
    use_effect_with((*error).clone(), |error| {
        if error.is_some() {
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("onboarding-error"))
            {
                el.scroll_into_view();
            }
        }
    });

    let set = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |v: String| h.set(v))
    };
    let weak = report.as_ref().is_some_and(|r| r.weak);
    let mismatch = !again.is_empty() && *again != *pass;

    let onsubmit = {
        let (role, name, phrase, chain, pass, again, accept_weak, error, busy, on_done, restore) = (
            role.clone(),
            name.clone(),
            phrase.clone(),
            chain.clone(),
            pass.clone(),
            again.clone(),
            accept_weak.clone(),
            error.clone(),
            busy.clone(),
            props.on_done.clone(),
            props.restore,
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            if *pass != *again {
                error.set(Some(UserError::new(
                    "The two passphrases are different.",
                    "Type the same passphrase in both fields.",
                )));
                return;
            }
            let wallet = NewWalletArgs {
                role: *role,
                display_name: (*name).clone(),
                passphrase: (*pass).clone(),
                accept_weak: *accept_weak,
            };
            let phrase = (*phrase).clone();
            // Optional: empty is "not known"; anything else must be a chain id.
            let chain_id = match chain.trim() {
                "" => None,
                typed => match typed.parse::<u64>() {
                    Ok(id) => Some(id),
                    Err(_) => {
                        error.set(Some(UserError::new(
                            format!("\"{typed}\" is not a chain id."),
                            "Type the number printed as \"Ledger: chain …\" on your Emergency Kit, or leave it empty.",
                        )));
                        return;
                    }
                },
            };
            let (error, busy, on_done) = (error.clone(), busy.clone(), on_done.clone());
            busy.set(true);
            error.set(None);
            spawn_local(async move {
                let result = if restore {
                    ipc::call::<RestoreWallet>(&RestoreWalletArgs {
                        phrase,
                        wallet,
                        chain_id,
                    })
                    .await
                } else {
                    ipc::call::<CreateWallet>(&wallet).await
                };
                busy.set(false);
                match result {
                    Ok(_) => on_done.emit(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    let role_options = Role::ALL.iter().map(|&r| {
        let onchange = {
            let role = role.clone();
            Callback::from(move |_| role.set(r))
        };
        let about = match r {
            Role::Patient => "I keep my own records and decide who sees them.",
            Role::Doctor => "I open records that patients share with me.",
            Role::Clinic => "Front desk: I check patients in and upload results.",
        };
        html! {
            <label class="radio-card">
                <input type="radio" name="role" id={format!("role-{}", r.as_str())} checked={*role == r} {onchange} />
                <span><strong>{ r.label() }</strong><span class="muted">{ about }</span></span>
            </label>
        }
    });

    let (title, button, busy_text) = if props.restore {
        ("Restore from Emergency Kit", "Restore wallet", "Restoring…")
    } else {
        (
            "Create your wallet",
            "Create wallet",
            "Creating… (the first time, medwallet measures this computer: a few seconds)",
        )
    };
    html! {
        <>
            <h1 id="onboarding-title">{ title }</h1>
            if props.damaged {
                <p class="notice">{ "The restored wallet will be saved in a new vault file. The damaged file is kept as it is." }</p>
            }
            if props.restore {
                { restore_brings_back(*role) }
                <p class="muted restore-then">
                    { if *role == Role::Patient {
                        "The rebuild runs after the restore; the Records page and Settings show its progress. "
                    } else {
                        "The rebuild runs after the restore; your first page and Settings show its progress. "
                    } }
                    { "It only reads the ledger. If the ledger node does not answer, your keys are restored now and the rebuild starts by itself when it answers." }
                </p>
            }
            <form class="form" {onsubmit} novalidate=true>
                <fieldset disabled={*busy}>
                    if props.restore {
                        <legend>{ "Your recovery words" }</legend>
                        <TextArea id="restore-phrase" label="The 24 words from your Emergency Kit" value={(*phrase).clone()}
                                  oninput={set(&phrase)}
                                  help="Type them in order, separated by spaces. Capital letters and numbering do not matter; the first 4 letters of each word are enough." />
                        <Input id="restore-chain" label="Ledger chain id (optional)" value={(*chain).clone()} oninput={set(&chain)}
                               help="Printed on your kit as \"Ledger: chain …\". With it, a ledger node on another chain is named instead of read; without it, the one in Settings is used." />
                    }
                    <fieldset class="roles-choice">
                        <legend>{ "Who is this wallet for?" }</legend>
                        { for role_options }
                    </fieldset>
                    <Input id="wallet-name" label="Wallet name" value={(*name).clone()} oninput={set(&name)}
                           help="A name you recognise, e.g. your own name. Others do not see it." />
                    <Input id="passphrase" kind="password" autocomplete="new-password" label="Passphrase" value={(*pass).clone()} oninput={set(&pass)}
                           help="It unlocks the wallet on this computer. medwallet cannot recover it; your Emergency Kit restores the wallet under a new one." />
                    <StrengthMeter report={report.clone()} />
                    <Input id="passphrase-again" kind="password" autocomplete="new-password" label="Passphrase again" value={(*again).clone()} oninput={set(&again)} />
                    if mismatch { <p id="passphrase-mismatch" class="field-error" role="alert">{ "The two passphrases are different." }</p> }
                    if weak {
                        <label class="check">
                            <input type="checkbox" id="accept-weak" checked={*accept_weak}
                                   onchange={ let a = accept_weak.clone(); Callback::from(move |_| a.set(!*a)) } />
                            { " Keep this weak passphrase anyway (I understand it is easier to guess)" }
                        </label>
                    }
                    <div class="actions">
                        <button id={if props.restore { "restore-wallet" } else { "create-wallet" }} type="submit" class="primary"
                                disabled={*busy || (weak && !*accept_weak)}>
                            { if *busy { busy_text } else { button } }
                        </button>
                    </div>
                </fieldset>
            </form>
            if let Some(e) = &*error { { error_box("onboarding-error", e) } }
        </>
    }
}
