//! The window. What it shows follows the shell's `session_state`, polled every few seconds:
//! the onboarding, the lock screen, the Emergency Kit, a damaged vault and a data folder
//! refused at start (another medwallet on it, not writable) are full-window; damaged
//! files set aside at start are named on top of every screen;
//! an unlocked wallet gets the sidebar with its role's pages and a Lock button; a patient's
//! emergency openings not seen yet are a red banner on top of every page. The status
//! bar (node health, and a patient's records waiting to upload) is always at the bottom.

use gloo_timers::callback::Interval;
use medwallet_api::commands::{GetSessionState, LockWallet};
use medwallet_api::{Identity, NoArgs, Role, SessionState, UserError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::check_in_asks::CheckInAsksBanner;
use crate::components::emergency_banner::EmergencyBanner;
use crate::components::form::error_box;
use crate::components::startup_notices::StartupNotices;
use crate::components::status_bar::StatusBar;
use crate::pages::audit::AuditPage;
use crate::pages::front_desk::FrontDeskPage;
use crate::pages::keys::KeysPage;
use crate::pages::kit::KitPage;
use crate::pages::onboarding::{Mode, OnboardingPage};
use crate::pages::records::RecordsPage;
use crate::pages::settings::{SettingsPage, WalletSecurity};
use crate::pages::shared::SharedPage;
use crate::pages::shared_with_me::SharedWithMePage;
use crate::pages::staff::StaffPage;
use crate::pages::unlock::UnlockPage;
use crate::pages::wallets::WalletsPage;

/// How often the window asks whether the wallet is still unlocked.
const POLL_MS: u32 = 3_000;

/// The pages reachable from the sidebar (those that exist for some role).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Page {
    FrontDesk,
    Records,
    Shared,
    SharedWithMe,
    Audit,
    Keys,
    Wallets,
    Staff,
    Settings,
}

impl Page {
    /// The pages of a role, in sidebar order (DESIGN.md section 9, where they exist yet).
    fn for_role(role: Role) -> &'static [Page] {
        match role {
            Role::Patient => &[
                Page::Records,
                Page::Shared,
                Page::Audit,
                Page::Keys,
                Page::Wallets,
                Page::Settings,
            ],
            Role::Doctor => &[
                Page::SharedWithMe,
                Page::Audit,
                Page::Keys,
                Page::Wallets,
                Page::Settings,
            ],
            Role::Clinic => &[
                Page::FrontDesk,
                Page::Staff,
                Page::Audit,
                Page::Wallets,
                Page::Settings,
            ],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Page::FrontDesk => "Front desk",
            Page::Records => "Records",
            Page::Shared => "Shared",
            Page::SharedWithMe => "Shared with me",
            Page::Audit => "Audit",
            Page::Keys => "Keys",
            Page::Wallets => "Wallets",
            Page::Staff => "Staff",
            Page::Settings => "Settings",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Page::FrontDesk => "nav-front-desk",
            Page::Records => "nav-records",
            Page::Shared => "nav-shared",
            Page::SharedWithMe => "nav-shared-with-me",
            Page::Audit => "nav-audit",
            Page::Keys => "nav-keys",
            Page::Wallets => "nav-wallets",
            Page::Staff => "nav-staff",
            Page::Settings => "nav-settings",
        }
    }
}

/// A full-window screen the user opened on top of the session's own screen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overlay {
    None,
    Onboarding(Mode),
    NodeSettings,
}

/// The root component.
#[function_component(App)]
pub fn app() -> Html {
    let session = use_state_eq(|| None::<SessionState>);
    let load_error = use_state_eq(|| None::<UserError>);
    let overlay = use_state_eq(|| Overlay::None);
    let page = use_state_eq(|| None::<Page>);
    let preselect = use_state_eq(|| None::<String>);
    // The record the Audit page opens filtered by (the viewer's "Audit trail").
    let audit_record = use_state_eq(|| None::<AttrValue>);
    // Bumped when settings change so the status bar re-checks at once.
    let settings_version = use_state(|| 0u32);

    let refresh = {
        let (session, load_error) = (session.clone(), load_error.clone());
        Callback::from(move |()| {
            let (session, load_error) = (session.clone(), load_error.clone());
            spawn_local(async move {
                match ipc::call::<GetSessionState>(&NoArgs {}).await {
                    Ok(state) => {
                        load_error.set(None);
                        session.set(Some(state));
                    }
                    Err(e) => load_error.set(Some(e)),
                }
            });
        })
    };
    {
        let refresh = refresh.clone();
        use_effect_with((), move |_| {
            refresh.emit(());
            let timer = Interval::new(POLL_MS, move || refresh.emit(()));
            move || drop(timer)
        });
    }

    let on_settings_saved = {
        let settings_version = settings_version.clone();
        Callback::from(move |()| settings_version.set(*settings_version + 1))
    };
    let open_node_settings = {
        let overlay = overlay.clone();
        Callback::from(move |()| overlay.set(Overlay::NodeSettings))
    };
    let close_overlay = {
        let (overlay, refresh) = (overlay.clone(), refresh.clone());
        Callback::from(move |()| {
            overlay.set(Overlay::None);
            refresh.emit(());
        })
    };
    let open_add = {
        let overlay = overlay.clone();
        Callback::from(move |()| overlay.set(Overlay::Onboarding(Mode::Choose)))
    };
    let status = html! { <StatusBar refresh={*settings_version} on_open_settings={open_node_settings.clone()} /> };

    let full = |body: Html, with_settings_link: bool| {
        let open = open_node_settings.clone();
        html! {
            <div class="shell full">
                <main class="content" id="main">
                    <header class="full-header">
                        <div class="brand" aria-hidden="true">
                            <span class="brand-mark">{ "✚" }</span><span class="brand-name">{ "medwallet" }</span>
                        </div>
                        if with_settings_link {
                            <button id="nav-settings" class="link" onclick={Callback::from(move |_| open.emit(()))}>{ "Node settings" }</button>
                        }
                    </header>
                    <StartupNotices />
                    { body }
                </main>
                { status.clone() }
            </div>
        }
    };

    // Screens the user opened on top.
    match *overlay {
        Overlay::NodeSettings => {
            let back = close_overlay.clone();
            return full(
                html! {
                    <>
                        <SettingsPage on_saved={on_settings_saved} />
                        <p><button id="settings-back" class="link" onclick={Callback::from(move |_| back.emit(()))}>{ "← Back" }</button></p>
                    </>
                },
                false,
            );
        }
        Overlay::Onboarding(mode) => {
            let damaged = matches!(*session, Some(SessionState::Damaged { .. }));
            return full(
                html! { <OnboardingPage {mode} on_done={close_overlay.clone()} on_cancel={Some(close_overlay.clone())} {damaged} /> },
                false,
            );
        }
        Overlay::None => {}
    }

    let Some(state) = (*session).clone() else {
        let body = match &*load_error {
            Some(e) => error_box("session-error", e),
            None => html! { <p class="muted">{ "Opening your wallet…" }</p> },
        };
        return full(html! { <section class="page">{ body }</section> }, true);
    };

    match state {
        SessionState::Damaged { error } => {
            let restore = {
                let overlay = overlay.clone();
                Callback::from(move |_| overlay.set(Overlay::Onboarding(Mode::Restore)))
            };
            full(
                html! {
                    <section class="page" aria-labelledby="damaged-title">
                        <h1 id="damaged-title">{ "Your wallet file cannot be opened" }</h1>
                        { error_box("vault-damaged", &error) }
                        <p>{ "Your wallet is not lost if you have its Emergency Kit: restoring it creates a new wallet file next to the damaged one, with the same address and keys." }</p>
                        <div class="actions"><button id="damaged-restore" class="primary" onclick={restore}>{ "Restore from Emergency Kit" }</button></div>
                    </section>
                },
                true,
            )
        }
        SessionState::Unavailable { error } => full(
            html! {
                <section class="page" aria-labelledby="unavailable-title">
                    <h1 id="unavailable-title">{ "medwallet cannot open its data folder" }</h1>
                    { error_box("data-folder-refused", &error) }
                </section>
            },
            false,
        ),
        SessionState::Empty => full(
            html! { <OnboardingPage mode={Mode::Choose} on_done={refresh.clone()} /> },
            true,
        ),
        SessionState::Locked {
            wallets,
            selected,
            retry_after_secs,
        } => {
            let selected = (*preselect)
                .clone()
                .filter(|p| wallets.iter().any(|w| &w.wallet_id == p))
                .or(selected);
            let on_done = {
                let (refresh, preselect, page) = (refresh.clone(), preselect.clone(), page.clone());
                Callback::from(move |()| {
                    preselect.set(None);
                    page.set(None);
                    refresh.emit(());
                })
            };
            full(
                html! { <UnlockPage {wallets} {selected} {retry_after_secs} {on_done} on_add={open_add} /> },
                true,
            )
        }
        SessionState::Unlocked {
            kit_pending: true,
            identity,
            ..
        } => full(
            html! { <KitPage role={identity.role} on_done={refresh.clone()} /> },
            false,
        ),
        SessionState::Unlocked {
            identity,
            wallets,
            quick_unlock,
            idle_minutes,
            ..
        } => {
            let pages = Page::for_role(identity.role);
            let current = page.filter(|p| pages.contains(p)).unwrap_or(pages[0]);
            let nav = pages.iter().map(|&p| {
                let onclick = {
                    let (page, audit_record) = (page.clone(), audit_record.clone());
                    Callback::from(move |_| {
                        audit_record.set(None);
                        page.set(Some(p));
                    })
                };
                html! {
                    <li>
                        <button id={p.id()} class={classes!("nav-item", (current == p).then_some("active"))}
                                aria-current={(current == p).then_some("page")} {onclick}>
                            { p.label() }
                        </button>
                    </li>
                }
            });
            let lock = {
                let refresh = refresh.clone();
                Callback::from(move |_| {
                    let refresh = refresh.clone();
                    spawn_local(async move {
                        let _ = ipc::call::<LockWallet>(&NoArgs {}).await;
                        refresh.emit(());
                    });
                })
            };
            let on_switch = {
                let (refresh, preselect) = (refresh.clone(), preselect.clone());
                Callback::from(move |id: String| {
                    let refresh = refresh.clone();
                    preselect.set(Some(id));
                    spawn_local(async move {
                        let _ = ipc::call::<LockWallet>(&NoArgs {}).await;
                        refresh.emit(());
                    });
                })
            };
            let on_audit = {
                let (page, audit_record) = (page.clone(), audit_record.clone());
                Callback::from(move |record_id: AttrValue| {
                    audit_record.set(Some(record_id));
                    page.set(Some(Page::Audit));
                })
            };
            let body = match current {
                Page::Records => {
                    html! { <RecordsPage wallet_id={identity.wallet_id.clone()} {on_audit} /> }
                }
                Page::FrontDesk => html! { <FrontDeskPage /> },
                Page::Staff => html! { <StaffPage /> },
                Page::Shared => html! { <SharedPage /> },
                Page::SharedWithMe => html! { <SharedWithMePage /> },
                Page::Audit => html! { <AuditPage record_id={(*audit_record).clone()} /> },
                Page::Keys => html! { <KeysPage identity={identity.clone()} /> },
                Page::Wallets => html! {
                    <WalletsPage identity={identity.clone()} {wallets} {on_switch} on_add={open_add} on_changed={refresh.clone()} />
                },
                Page::Settings => html! {
                    <SettingsPage on_saved={on_settings_saved}
                                  wallet={Some(WalletSecurity { quick_unlock, idle_minutes })}
                                  on_wallet_changed={refresh.clone()} />
                },
            };
            // A patient's emergency openings not seen yet, on top of every page.
            let banner = if identity.role == Role::Patient {
                let on_audit = {
                    let (page, audit_record) = (page.clone(), audit_record.clone());
                    Callback::from(move |()| {
                        audit_record.set(None);
                        page.set(Some(Page::Audit));
                    })
                };
                html! { <EmergencyBanner key={identity.wallet_id.clone()} {on_audit} /> }
            } else {
                html! {}
            };
            // The patient's pending work (records not on IPFS yet) joins the node health.
            let status = html! {
                <StatusBar refresh={*settings_version} on_open_settings={open_node_settings.clone()}
                           records={identity.role == Role::Patient} />
            };
            html! {
                <div class="shell">
                    <nav class="sidebar" aria-label="Pages">
                        <div class="brand" aria-hidden="true">
                            <span class="brand-mark">{ "✚" }</span>
                            <span class="brand-name">{ "medwallet" }</span>
                        </div>
                        <ul>{ for nav }</ul>
                        <div class="sidebar-foot">
                            <p class="who" id="sidebar-wallet"><strong>{ identity_name(&identity) }</strong><br />
                                <span class="muted">{ identity.role.label() }</span></p>
                            <button id="lock" class="lock-button" onclick={lock}><svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5Zm-3 8V7a3 3 0 1 1 6 0v3H9Z"/></svg>{ "Lock" }</button>
                        </div>
                    </nav>
                    <main class="content" id="main">
                        <StartupNotices unlocked={Some(AttrValue::from(identity.wallet_id.clone()))} />
                        { banner }
                        if identity.role == Role::Patient { <CheckInAsksBanner /> }
                        { body }
                    </main>
                    { status }
                </div>
            }
        }
    }
}

fn identity_name(identity: &Identity) -> String {
    identity.display_name.clone()
}

use crate::ipc;
