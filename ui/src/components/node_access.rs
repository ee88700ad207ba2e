//! How Settings reaches remote nodes: plain `http://` allowed host by host, the
//! consortium's CA certificate, and the unlocked wallet's credentials for each node.
//!
//! The hosts allowed without TLS are part of the node settings (saved with the form);
//! the CA and the credentials have their own commands, which answer the stored settings.
//! A secret typed here lives in its password input and in the one call that stores it:
//! never in component state, never in a log.

use medwallet_api::commands::{
    ClearCaCertificate, ImportCaCertificate, SetNodeCredential, SetNodeCredentialArgs,
};
use medwallet_api::{
    CaCertificate, CredentialInput, NoArgs, NodeCredentialInfo, NodeSettings, UserError,
};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::form::error_box;
use crate::ipc;

/// The host of `url` as a URL names it, lower case: a name, an IPv4 address, or an
/// IPv6 address in brackets (`[::1]`). Without the user name, password and port.
/// `None` when there is no `scheme://` or no host.
pub fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        let inner = &bracketed[..bracketed.find(']')?];
        match inner.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => format!("[{ip}]"),
            Err(_) => format!("[{}]", inner.to_ascii_lowercase()),
        }
    } else {
        host_port
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    (!host.is_empty() && host != "[]").then_some(host)
}

/// True for this computer: 127.0.0.0/8, `[::1]`, `localhost`. Traffic to it never
/// crosses the network, so plain `http://` is always allowed there.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return ip.is_loopback();
    }
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// The host that `url` reaches over plain `http://` across the network (not this
/// computer): the one the user has to allow. `None` for `https://` and loopback.
pub fn plain_http_host(url: &str) -> Option<String> {
    let (scheme, _) = url.trim().split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    url_host(url).filter(|host| !is_loopback(host))
}

/// Whether `host` is in the list (as typed: spaces and case do not count).
pub fn host_allowed(hosts: &[String], host: &str) -> bool {
    hosts.iter().any(|h| h.trim().eq_ignore_ascii_case(host))
}

/// The list with `host` allowed (added at the end, in place of trailing blank lines) or
/// not (every line naming it removed). Other lines are kept as typed.
pub fn toggle_host(hosts: &[String], host: &str, allow: bool) -> Vec<String> {
    let host = host.trim().to_ascii_lowercase();
    if allow {
        let mut out = hosts.to_vec();
        if !host_allowed(&out, &host) {
            while out.last().is_some_and(|h| h.trim().is_empty()) {
                out.pop();
            }
            out.push(host);
        }
        out
    } else {
        hosts
            .iter()
            .filter(|h| !h.trim().eq_ignore_ascii_case(&host))
            .cloned()
            .collect()
    }
}

/// The imported CA as Settings shows it.
pub fn ca_text(ca: Option<&CaCertificate>) -> String {
    match ca {
        None => "None — only the system's certificate authorities".to_owned(),
        Some(ca) => format!(
            "{} certificate{}, SHA-256 {}",
            ca.certificates,
            if ca.certificates == 1 { "" } else { "s" },
            ca.sha256
        ),
    }
}

/// The configured nodes a credential can be set for: the IPFS and ledger nodes, the
/// replicas and the ledger nodes checked against, each once, in that order.
pub fn node_choices(settings: &NodeSettings) -> Vec<String> {
    let all = [&settings.ipfs_url, &settings.ledger_url]
        .into_iter()
        .chain(&settings.replicas)
        .chain(&settings.ledger_witnesses);
    let mut out: Vec<String> = Vec::new();
    for url in all {
        let url = url.trim();
        if !url.is_empty() && !out.iter().any(|u| u == url) {
            out.push(url.to_owned());
        }
    }
    out
}

/// A credential's kind in words.
fn kind_words(kind: &str) -> &str {
    match kind {
        "bearer" => "Bearer token",
        "basic" => "User name and password",
        other => other,
    }
}

/// The checkbox under a node URL field that allows plain `http://` to its host. Shown
/// only while the URL is `http://` to another computer; `on_toggle` gets the host and
/// whether it is now allowed.
pub fn plain_http_check(
    id: &'static str,
    url: &str,
    hosts: &[String],
    on_toggle: Callback<(String, bool)>,
) -> Html {
    let Some(host) = plain_http_host(url) else {
        return html! {};
    };
    let checked = host_allowed(hosts, &host);
    let help_id = format!("{id}-help");
    let onchange = {
        let host = host.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            on_toggle.emit((host.clone(), input.checked()));
        })
    };
    html! {
        <div class="plain-http">
            <label class="check">
                <input type="checkbox" {id} {checked} {onchange} aria-describedby={help_id.clone()} />
                { " Allow an unencrypted connection to this host" }
            </label>
            <p id={help_id} class="field-help">
                { "Everything sent to " }<code>{ host }</code>
                { ", a token too, crosses the network in clear. Only for a node on a network you trust." }
            </p>
        </div>
    }
}

/// Props of [`TrustedCa`].
#[derive(Properties, PartialEq)]
pub struct CaProps {
    /// The imported CA, if any.
    pub ca: Option<CaCertificate>,
    /// The stored settings, after a change.
    pub on_changed: Callback<NodeSettings>,
}

/// The extra CA certificate trusted for `https://` nodes: its fingerprint, import, clear.
#[function_component(TrustedCa)]
pub fn trusted_ca(props: &CaProps) -> Html {
    let busy = use_state(|| false);
    let error = use_state(|| None::<UserError>);
    let run = |clear: bool| {
        let (busy, error, on_changed) = (busy.clone(), error.clone(), props.on_changed.clone());
        Callback::from(move |_: MouseEvent| {
            let (busy, error, on_changed) = (busy.clone(), error.clone(), on_changed.clone());
            busy.set(true);
            spawn_local(async move {
                let answer = if clear {
                    ipc::call::<ClearCaCertificate>(&NoArgs {}).await.map(Some)
                } else {
                    ipc::call::<ImportCaCertificate>(&NoArgs {}).await
                };
                busy.set(false);
                match answer {
                    Ok(Some(settings)) => {
                        error.set(None);
                        on_changed.emit(settings);
                    }
                    // The dialog was cancelled.
                    Ok(None) => {}
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <div class="form node-ca"><fieldset disabled={*busy}>
            <legend>{ "Trusted CA certificate" }</legend>
            <p><code id="settings-ca" class="id-value">{ ca_text(props.ca.as_ref()) }</code></p>
            <p class="field-help">{ "For nodes whose certificates come from a consortium's own CA. Compare the fingerprint with the one your consortium published." }</p>
            <div class="actions">
                <button id="settings-ca-import" type="button" onclick={run(false)}>{ "Trust a CA certificate…" }</button>
                if props.ca.is_some() {
                    <button id="settings-ca-clear" type="button" onclick={run(true)}>{ "Stop trusting" }</button>
                }
            </div>
            if let Some(e) = &*error { { error_box("settings-ca-error", e) } }
        </fieldset></div>
    }
}

/// Props of [`NodeCredentials`].
#[derive(Properties, PartialEq)]
pub struct CredentialsProps {
    /// The nodes the wallet has credentials for (the last unlocked wallet's, while locked:
    /// the app keeps using them).
    pub credentials: Vec<NodeCredentialInfo>,
    /// The configured node URLs, for the form's choice of node.
    pub nodes: Vec<String>,
    /// A wallet is unlocked: credentials are kept in its vault, so they can be set or
    /// removed only then.
    pub unlocked: bool,
    /// The stored settings, after a change.
    pub on_changed: Callback<NodeSettings>,
}

/// The unlocked wallet's credentials for its nodes: the list with Remove, and a form to
/// set one.
#[function_component(NodeCredentials)]
pub fn node_credentials(props: &CredentialsProps) -> Html {
    let node = use_state(String::new);
    let basic = use_state(|| false);
    let busy = use_state(|| false);
    let error = use_state(|| None::<UserError>);
    let notice = use_state(|| None::<String>);
    // The secrets stay in their inputs until the save reads and empties them.
    let token_ref = use_node_ref();
    let user_ref = use_node_ref();
    let password_ref = use_node_ref();

    let chosen = if props.nodes.contains(&*node) {
        (*node).clone()
    } else {
        props.nodes.first().cloned().unwrap_or_default()
    };
    let empty_secrets = {
        let refs = [token_ref.clone(), user_ref.clone(), password_ref.clone()];
        move || {
            for r in &refs {
                if let Some(input) = r.cast::<HtmlInputElement>() {
                    input.set_value("");
                }
            }
        }
    };
    let send = {
        let (busy, error, notice, on_changed) = (
            busy.clone(),
            error.clone(),
            notice.clone(),
            props.on_changed.clone(),
        );
        move |node: String, credential: CredentialInput, done: &'static str| {
            let (busy, error, notice, on_changed) = (
                busy.clone(),
                error.clone(),
                notice.clone(),
                on_changed.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                let args = SetNodeCredentialArgs { node, credential };
                let answer = ipc::call::<SetNodeCredential>(&args).await;
                drop(args);
                busy.set(false);
                match answer {
                    Ok(settings) => {
                        error.set(None);
                        notice.set(Some(done.to_owned()));
                        on_changed.emit(settings);
                    }
                    Err(e) => {
                        notice.set(None);
                        error.set(Some(e));
                    }
                }
            });
        }
    };
    let onsubmit = {
        let (basic, error, notice, send, empty_secrets) = (
            basic.clone(),
            error.clone(),
            notice.clone(),
            send.clone(),
            empty_secrets.clone(),
        );
        let (token_ref, user_ref, password_ref) =
            (token_ref.clone(), user_ref.clone(), password_ref.clone());
        let chosen = chosen.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let credential = if *basic {
                CredentialInput::Basic {
                    user: value(&user_ref),
                    password: value(&password_ref),
                }
            } else {
                CredentialInput::Bearer {
                    token: value(&token_ref),
                }
            };
            empty_secrets();
            let missing = match &credential {
                _ if chosen.is_empty() => Some((
                    "There is no node to set credentials for.",
                    "Enter the node's URL above and save it first.",
                )),
                CredentialInput::Bearer { token } if token.trim().is_empty() => Some((
                    "Type the token the node expects.",
                    "Your consortium or the node's operator gives it.",
                )),
                CredentialInput::Basic { user, .. } if user.trim().is_empty() => Some((
                    "Type the user name the node expects.",
                    "Your consortium or the node's operator gives it.",
                )),
                _ => None,
            };
            if let Some((message, hint)) = missing {
                notice.set(None);
                error.set(Some(UserError::new(message, hint)));
                return;
            }
            send(
                chosen.clone(),
                credential,
                "Saved. medwallet sends it to that node from now on.",
            );
        })
    };
    let on_node = {
        let node = node.clone();
        Callback::from(move |e: Event| {
            node.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let on_kind = {
        let (basic, empty_secrets) = (basic.clone(), empty_secrets.clone());
        Callback::from(move |e: Event| {
            empty_secrets();
            basic.set(e.target_unchecked_into::<HtmlSelectElement>().value() == "basic");
        })
    };
    let rows = props.credentials.iter().map(|c| {
        let onclick = {
            let (send, node) = (send.clone(), c.node.clone());
            Callback::from(move |_: MouseEvent| {
                send(node.clone(), CredentialInput::None, "Removed. Nothing is sent to that node any more.")
            })
        };
        html! {
            <li class="credential" data-node={c.node.clone()}>
                <code>{ &c.node }</code>
                <span class="muted">{ kind_words(&c.kind) }</span>
                if props.unlocked {
                    <button type="button" class="small danger credential-remove" {onclick} disabled={*busy}
                            aria-label={format!("Remove the credentials for {}", c.node)}>{ "Remove" }</button>
                }
            </li>
        }
    });
    let options = props.nodes.iter().map(|url| {
        html! { <option value={url.clone()} selected={*url == chosen}>{ url }</option> }
    });
    let plain = plain_http_host(&chosen);
    html! {
        <div class="form node-credentials"><fieldset>
            <legend>{ "Node credentials" }</legend>
            if props.credentials.is_empty() {
                <p id="settings-credentials" class="muted">{ "No node has credentials." }</p>
            } else {
                <ul id="settings-credentials" class="credentials">{ for rows }</ul>
            }
            if !props.unlocked {
                <p id="credential-locked" class="muted">{ "Unlock the wallet to set or remove its node credentials." }</p>
            } else {
                <form onsubmit={onsubmit} novalidate=true>
                    <fieldset disabled={*busy}>
                        <div class="field">
                            <label for="credential-node">{ "Node" }</label>
                            <select id="credential-node" onchange={on_node}>{ for options }</select>
                        </div>
                        <div class="field">
                            <label for="credential-kind">{ "Kind" }</label>
                            <select id="credential-kind" onchange={on_kind}>
                                <option value="bearer" selected={!*basic}>{ "Bearer token" }</option>
                                <option value="basic" selected={*basic}>{ "User name and password" }</option>
                            </select>
                        </div>
                        if *basic {
                            <div class="field" key="user">
                                <label for="credential-user">{ "User name" }</label>
                                <input id="credential-user" type="text" ref={user_ref} autocomplete="off" spellcheck="false" />
                            </div>
                            <div class="field" key="password">
                                <label for="credential-password">{ "Password" }</label>
                                <input id="credential-password" type="password" ref={password_ref} autocomplete="off" spellcheck="false" />
                            </div>
                        } else {
                            <div class="field" key="token">
                                <label for="credential-token">{ "Token" }</label>
                                <input id="credential-token" type="password" ref={token_ref} autocomplete="off" spellcheck="false" />
                            </div>
                        }
                        if let Some(host) = plain {
                            <p id="credential-plain-warning" class="field-error">
                                { "This node is reached over plain http://: the credentials cross the network to " }
                                <code>{ host }</code>{ " unencrypted." }
                            </p>
                        }
                        <p class="field-help">{ "Kept in this wallet's vault, encrypted; sent only to that node, only over the connection its URL says." }</p>
                        <div class="actions">
                            <button id="credential-save" type="submit">{ "Save credentials" }</button>
                        </div>
                    </fieldset>
                </form>
            }
            if let Some(text) = &*notice { <p id="credential-notice" class="notice ok" role="status">{ text }</p> }
            if let Some(e) = &*error { { error_box("credential-error", e) } }
        </fieldset></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_what_the_url_names() {
        for (url, host) in [
            ("http://Node.Clinic.Example:5001", "node.clinic.example"),
            ("https://node.example/api/v0?x=1", "node.example"),
            ("http://user:p@ss@10.0.0.7:8545/", "10.0.0.7"),
            ("  http://node.example#frag ", "node.example"),
            ("http://[0:0:0:0:0:0:0:1]:5001", "[::1]"),
            ("http://[FE80::A]:5001/x", "[fe80::a]"),
            ("http://node.example?q", "node.example"),
        ] {
            assert_eq!(url_host(url).as_deref(), Some(host), "{url}");
        }
        for url in [
            "node.example:5001",
            "http://",
            "http://:5001",
            "http://[::1",
            "http://[]",
        ] {
            assert_eq!(url_host(url), None, "{url}");
        }
    }

    #[test]
    fn loopback_is_this_computer_only() {
        for host in ["127.0.0.1", "127.8.9.10", "[::1]", "localhost", "LocalHost"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "128.0.0.1",
            "10.0.0.7",
            "[::2]",
            "localhost.example",
            "node",
            "::1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn plain_http_asks_only_for_another_computer() {
        assert_eq!(
            plain_http_host("HTTP://Node.Example:5001").as_deref(),
            Some("node.example")
        );
        assert_eq!(
            plain_http_host("http://203.0.113.7:8545").as_deref(),
            Some("203.0.113.7")
        );
        for url in [
            "https://node.example",
            "http://127.0.0.1:5001",
            "http://localhost:8545",
            "http://[::1]:5001",
            "ftp://node.example",
            "node.example",
            "",
        ] {
            assert_eq!(plain_http_host(url), None, "{url}");
        }
    }

    #[test]
    fn toggling_a_host_adds_it_once_and_removes_every_line_naming_it() {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(toggle_host(&[], "Node.Example", true), ["node.example"]);
        let typed = list(&["a.example", "", " NODE.example ", ""]);
        assert_eq!(toggle_host(&typed, "node.example", true), typed);
        assert_eq!(
            toggle_host(&typed, "node.example", false),
            ["a.example", "", ""]
        );
        assert_eq!(
            toggle_host(&list(&["a.example", "", ""]), "b.example", true),
            ["a.example", "b.example"]
        );
        assert_eq!(
            toggle_host(&list(&["a.example"]), "b.example", false),
            ["a.example"]
        );
        assert!(host_allowed(&typed, "node.example"));
        assert!(!host_allowed(&typed, "b.example"));
    }

    #[test]
    fn the_ca_and_the_node_choices_in_words() {
        assert_eq!(
            ca_text(None),
            "None — only the system's certificate authorities"
        );
        let one = CaCertificate {
            certificates: 1,
            sha256: "AB:CD".into(),
        };
        assert_eq!(ca_text(Some(&one)), "1 certificate, SHA-256 AB:CD");
        let two = CaCertificate {
            certificates: 2,
            ..one
        };
        assert_eq!(ca_text(Some(&two)), "2 certificates, SHA-256 AB:CD");

        let settings = NodeSettings {
            ipfs_url: "http://127.0.0.1:5001".into(),
            ledger_url: " https://ledger.example ".into(),
            replicas: vec![
                "https://r.example".into(),
                "".into(),
                "http://127.0.0.1:5001".into(),
            ],
            ledger_witnesses: vec!["https://w.example".into()],
            ..NodeSettings::default()
        };
        assert_eq!(
            node_choices(&settings),
            [
                "http://127.0.0.1:5001",
                "https://ledger.example",
                "https://r.example",
                "https://w.example"
            ]
        );
    }
}
