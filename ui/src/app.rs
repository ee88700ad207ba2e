//! The window: sidebar, the current page, the status bar.

use yew::prelude::*;

use crate::components::status_bar::StatusBar;
use crate::pages::{settings::SettingsPage, welcome::WelcomePage};

/// The pages reachable from the sidebar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Welcome,
    Settings,
}

impl Page {
    const ALL: [Page; 2] = [Page::Welcome, Page::Settings];

    fn label(self) -> &'static str {
        match self {
            Page::Welcome => "Welcome",
            Page::Settings => "Settings",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Page::Welcome => "nav-welcome",
            Page::Settings => "nav-settings",
        }
    }
}

/// The root component.
#[function_component(App)]
pub fn app() -> Html {
    let page = use_state(|| Page::Welcome);
    // Bumped when settings change so the status bar re-checks at once.
    let settings_version = use_state(|| 0u32);

    let nav = Page::ALL.iter().map(|&p| {
        let onclick = {
            let page = page.clone();
            Callback::from(move |_| page.set(p))
        };
        let current = (*page == p).then_some("page");
        html! {
            <li>
                <button id={p.id()} class={classes!("nav-item", (*page == p).then_some("active"))}
                        aria-current={current} {onclick}>
                    { p.label() }
                </button>
            </li>
        }
    });

    let on_settings_saved = {
        let settings_version = settings_version.clone();
        Callback::from(move |()| settings_version.set(*settings_version + 1))
    };
    let go_settings = {
        let page = page.clone();
        Callback::from(move |()| page.set(Page::Settings))
    };

    html! {
        <div class="shell">
            <nav class="sidebar" aria-label="Pages">
                <div class="brand" aria-hidden="true">
                    <span class="brand-mark">{ "✚" }</span>
                    <span class="brand-name">{ "medwallet" }</span>
                </div>
                <ul>{ for nav }</ul>
            </nav>
            <main class="content" id="main">
                {
                    match *page {
                        Page::Welcome => html! { <WelcomePage on_open_settings={go_settings.clone()} /> },
                        Page::Settings => html! { <SettingsPage on_saved={on_settings_saved} /> },
                    }
                }
            </main>
            <StatusBar refresh={*settings_version} on_open_settings={go_settings} />
        </div>
    }
}
