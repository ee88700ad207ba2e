//! Keys: the wallet's public identity, to share.

use medwallet_api::Identity;
use yew::prelude::*;

use crate::components::identity::IdentityCard;

/// Props of [`KeysPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The unlocked wallet.
    pub identity: Identity,
}

/// The wallet's address and public keys.
#[function_component(KeysPage)]
pub fn keys_page(props: &Props) -> Html {
    html! {
        <section class="page" aria-labelledby="keys-title">
            <h1 id="keys-title">{ "Keys" }</h1>
            <IdentityCard identity={props.identity.clone()} />
        </section>
    }
}
