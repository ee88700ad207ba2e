//! What the app found damaged at start and kept aside (a settings file, a wallet's
//! records database or audit cache): each named with where it is kept, on top of every
//! screen until dismissed or the app quits. A damaged records database offers "Rebuild
//! from the ledger" once its wallet is unlocked (the rebuild's own view, which starts,
//! follows and resumes it).

use medwallet_api::commands::GetStartupNotices;
use medwallet_api::{NoArgs, StartupNotice};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::rebuild::RebuildProgress;
use crate::ipc;

/// Props of [`StartupNotices`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet, if any: a notice about its records offers its rebuild.
    #[prop_or_default]
    pub unlocked: Option<AttrValue>,
}

/// The notices; nothing when none (read once: they do not change while the app runs).
#[function_component(StartupNotices)]
pub fn startup_notices(props: &Props) -> Html {
    let notices = use_state_eq(Vec::<StartupNotice>::new);
    let dismissed = use_state_eq(|| false);
    {
        let notices = notices.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                // Not answered: nothing to tell (the session's own screen names a refusal).
                if let Ok(found) = ipc::call::<GetStartupNotices>(&NoArgs {}).await {
                    notices.set(found);
                }
            });
        });
    }
    if notices.is_empty() || *dismissed {
        return html! {};
    }
    let dismiss = {
        let dismissed = dismissed.clone();
        Callback::from(move |_: MouseEvent| dismissed.set(true))
    };
    let offers_rebuild = notices.iter().any(|n| {
        n.rebuild_wallet.is_some() && n.rebuild_wallet.as_deref() == props.unlocked.as_deref()
    });
    html! {
        <section id="startup-notices" class="notice error" role="alert" aria-labelledby="startup-notices-title">
            <h2 id="startup-notices-title">{ "Damaged files were set aside" }</h2>
            { for notices.iter().enumerate().map(|(i, n)| html! {
                <div class="startup-notice" id={format!("startup-notice-{i}")}
                     data-rebuild={n.rebuild_wallet.clone().unwrap_or_default()}>
                    <p>{ &n.problem.message }</p>
                    if let Some(hint) = &n.problem.hint { <p class="hint">{ hint }</p> }
                </div>
            }) }
            if offers_rebuild {
                <RebuildProgress offer_start=true />
            }
            <div class="actions"><button id="startup-notices-dismiss" type="button" class="link" onclick={dismiss}>{ "Dismiss" }</button></div>
        </section>
    }
}
