//! The passphrase strength meter, from the shell's zxcvbn verdict.

use medwallet_api::StrengthReport;
use yew::prelude::*;

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
