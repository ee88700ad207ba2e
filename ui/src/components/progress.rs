//! A labelled progress bar for long work.

use yew::prelude::*;

/// Props of [`ProgressBar`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Element id of the `<progress>`; its label is `<id>-label`.
    pub id: AttrValue,
    /// What is going on (a stage), shown above the bar, followed by the percentage.
    pub label: AttrValue,
    /// What it is about (a file name), shown after the percentage.
    #[prop_or_default]
    pub detail: Option<AttrValue>,
    /// Units done.
    pub done: u64,
    /// Units in all; 0 when not known yet (the bar then moves without a value).
    pub total: u64,
    /// Whether the label is followed by the percentage (off when the label already
    /// says how far it is, as "block 1,200 of 45,000").
    #[prop_or(true)]
    pub show_percent: bool,
}

/// The percentage of `done` in `total`, 0-100 (`None` when the total is not known).
pub fn percent(done: u64, total: u64) -> Option<u8> {
    (total > 0).then(|| (u128::from(done.min(total)) * 100 / u128::from(total)) as u8)
}

/// `<progress>` with a visible label that names it: "Encrypting 42% · scan.pdf".
#[function_component(ProgressBar)]
pub fn progress_bar(props: &Props) -> Html {
    let label_id = format!("{}-label", props.id);
    let pct = percent(props.done, props.total);
    let mut text = match pct {
        Some(p) if props.show_percent => format!("{} {p}%", props.label),
        _ => props.label.to_string(),
    };
    if let Some(detail) = &props.detail {
        text = format!("{text} · {detail}");
    }
    html! {
        <div class="progress">
            <span id={label_id.clone()} class="progress-label">{ text.clone() }</span>
            // `<progress>` is a progressbar; the explicit role is for tools that query by it.
            if let Some(p) = pct {
                <progress id={props.id.clone()} role="progressbar" max="100" value={p.to_string()}
                          aria-labelledby={label_id} aria-valuetext={text}>{ format!("{p}%") }</progress>
            } else {
                <progress id={props.id.clone()} role="progressbar" aria-labelledby={label_id}
                          aria-valuetext={text}></progress>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percent_is_bounded() {
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(5, 10), Some(50));
        assert_eq!(percent(20, 10), Some(100));
        assert_eq!(percent(u64::MAX, u64::MAX), Some(100));
    }
}
