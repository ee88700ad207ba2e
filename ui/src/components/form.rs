//! Small form pieces shared by the wallet screens: labelled inputs, error boxes, focus.

use medwallet_api::UserError;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

/// Props of [`Input`].
#[derive(Properties, PartialEq)]
pub struct InputProps {
    /// Element id (also used by the end-to-end tests).
    pub id: AttrValue,
    /// The visible label.
    pub label: AttrValue,
    /// Current value.
    pub value: AttrValue,
    /// New value on every keystroke.
    pub oninput: Callback<String>,
    /// `text` or `password`.
    #[prop_or(AttrValue::Static("text"))]
    pub kind: AttrValue,
    /// Help text under the field.
    #[prop_or_default]
    pub help: Option<AttrValue>,
    /// Autocomplete hint.
    #[prop_or(AttrValue::Static("off"))]
    pub autocomplete: AttrValue,
}

/// A labelled text or password input.
#[function_component(Input)]
pub fn input(props: &InputProps) -> Html {
    let oninput = {
        let cb = props.oninput.clone();
        Callback::from(move |e: InputEvent| {
            cb.emit(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let help_id = format!("{}-help", props.id);
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <input id={props.id.clone()} type={props.kind.clone()} value={props.value.clone()} {oninput}
                   spellcheck="false" autocomplete={props.autocomplete.clone()}
                   aria-describedby={props.help.as_ref().map(|_| help_id.clone())} />
            if let Some(help) = &props.help { <p id={help_id} class="field-help">{ help.clone() }</p> }
        </div>
    }
}

/// Props of [`TextArea`].
#[derive(Properties, PartialEq)]
pub struct TextAreaProps {
    /// Element id.
    pub id: AttrValue,
    /// The visible label.
    pub label: AttrValue,
    /// Current value.
    pub value: AttrValue,
    /// New value on every keystroke.
    pub oninput: Callback<String>,
    /// Help text under the field.
    #[prop_or_default]
    pub help: Option<AttrValue>,
}

/// A labelled multi-line input.
#[function_component(TextArea)]
pub fn text_area(props: &TextAreaProps) -> Html {
    let oninput = {
        let cb = props.oninput.clone();
        Callback::from(move |e: InputEvent| {
            cb.emit(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let help_id = format!("{}-help", props.id);
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <textarea id={props.id.clone()} value={props.value.clone()} {oninput} rows="4"
                      spellcheck="false" autocomplete="off"
                      aria-describedby={props.help.as_ref().map(|_| help_id.clone())} />
            if let Some(help) = &props.help { <p id={help_id} class="field-help">{ help.clone() }</p> }
        </div>
    }
}

/// An error in the user's words, with what to do next.
pub fn error_box(id: &'static str, error: &UserError) -> Html {
    html! {
        <div {id} class="notice error" role="alert">
            <p>{ &error.message }</p>
            if let Some(hint) = &error.hint { <p class="hint">{ hint }</p> }
        </div>
    }
}

/// Moves the keyboard focus to the element with this id, if it is there.
pub fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}
