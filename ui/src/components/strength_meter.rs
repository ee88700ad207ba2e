//! The passphrase strength meter, from the shell's zxcvbn verdict.

use medwallet_api::commands::{RatePassphrase, RatePassphraseArgs};
use medwallet_api::StrengthReport;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::ipc;

/// The shell's verdict on `passphrase` as it is typed (`None` while it is empty).
/// `display_name` counts against the passphrase (guessable words).
#[hook]
pub fn use_passphrase_rating(passphrase: String, display_name: String) -> Option<StrengthReport> {
    let report = use_state(|| None::<StrengthReport>);
    // Answers can arrive out of order: show only the one for the latest text.
    let latest = use_mut_ref(|| 0u32);
    {
        let report = report.clone();
        use_effect_with((passphrase, display_name), move |(pass, name)| {
            *latest.borrow_mut() += 1;
            let ticket = *latest.borrow();
            if pass.is_empty() {
                report.set(None);
            } else {
                let args = RatePassphraseArgs {
                    passphrase: pass.clone(),
                    display_name: name.clone(),
                };
                spawn_local(async move {
                    if let Ok(r) = ipc::call::<RatePassphrase>(&args).await {
                        if *latest.borrow() == ticket {
                            report.set(Some(r));
                        }
                    }
                });
            }
        });
    }
    (*report).clone()
}

/// Props of [`StrengthMeter`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The verdict on what is typed, if anything is.
    pub report: Option<StrengthReport>,
}

/// A bar of five steps with words and advice.
#[function_component(StrengthMeter)]
pub fn strength_meter(props: &Props) -> Html {
    let Some(r) = &props.report else {
        return html! { <p id="strength" class="strength muted">{ "Use four or more unrelated words. A phrase is easier to remember than symbols." }</p> };
    };
    let word = ["Very weak", "Weak", "Fair", "Strong", "Very strong"][usize::from(r.score.min(4))];
    html! {
        <div id="strength" class={classes!("strength", if r.weak { "weak" } else { "strong" })} aria-live="polite">
            <div class="meter" role="meter" aria-label="Passphrase strength" aria-valuemin="0" aria-valuemax="4"
                 aria-valuenow={r.score.to_string()} aria-valuetext={word}>
                { for (0..5u8).map(|i| html! { <span class={classes!("step", (i <= r.score).then_some("on"))} /> }) }
            </div>
            <p id="strength-label"><strong>{ word }</strong>
                if r.weak { { " — someone could guess this passphrase." } }
            </p>
            if let Some(w) = &r.warning { <p class="strength-warning">{ w }</p> }
            { for r.suggestions.iter().map(|s| html! { <p class="muted">{ s }</p> }) }
        </div>
    }
}
