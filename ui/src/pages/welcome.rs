//! The first screen: what medwallet is, and for whom.

use yew::prelude::*;

/// Props of [`WelcomePage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Opens the Settings page.
    pub on_open_settings: Callback<()>,
}

/// The first screen.
#[function_component(WelcomePage)]
pub fn welcome_page(props: &Props) -> Html {
    let open = {
        let cb = props.on_open_settings.clone();
        Callback::from(move |_| cb.emit(()))
    };
    html! {
        <section class="page welcome" aria-labelledby="welcome-title">
            <h1 id="welcome-title">{ "Your medical records, your keys" }</h1>
            <p class="lead">
                { "medwallet keeps the keys to your records on this computer. Records are encrypted here \
                   before they are stored, you decide who may open them, and every access is written \
                   to a ledger you can read." }
            </p>
            <ul class="roles">
                <li class="card">
                    <h2>{ "Patients" }</h2>
                    <p>{ "Keep your records, share them with a doctor or a care team, take access back, and see who opened what." }</p>
                </li>
                <li class="card">
                    <h2>{ "Doctors" }</h2>
                    <p>{ "Open what patients share with you. Every opening is logged for the patient to see." }</p>
                </li>
                <li class="card">
                    <h2>{ "Clinics" }</h2>
                    <p>{ "Check patients in from a QR code, verify a file against the ledger, and upload results the patient owns." }</p>
                </li>
            </ul>
            <p class="muted">
                { "medwallet needs an IPFS node and a ledger node; their state is shown at the bottom of the window. " }
                <button class="link" onclick={open}>{ "Change node settings" }</button>
            </p>
        </section>
    }
}
