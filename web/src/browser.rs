//! Browser glue: downloads, the clipboard, the URL fragment, local storage, timing marks. Everything here is a thin
//! wrapper over gloo (or web-sys where gloo has nothing: the clipboard, `history.replaceState`).

use gloo::file::{Blob, ObjectUrl};
use gloo::storage::{LocalStorage, Storage};
use gloo::utils::{document, window};
use wasm_bindgen::JsCast;

/// Offers bytes as a file download (`<a download>` on an object URL, released a minute later).
pub fn download(name: &str, mime: &str, bytes: &[u8]) {
    let url = ObjectUrl::from(Blob::new_with_options(bytes, Some(mime)));
    let Ok(a) = document().create_element("a") else { return };
    let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() else { return };
    a.set_href(&url);
    a.set_download(name);
    a.set_hidden(true);
    let body = document().body();
    if let Some(body) = &body {
        let _ = body.append_child(&a);
    }
    a.click();
    a.remove();
    gloo::timers::callback::Timeout::new(60_000, move || drop(url)).forget();
}

/// Copies text to the clipboard; `done(true)` once the browser confirms.
pub fn copy(text: &str, done: impl FnOnce(bool) + 'static) {
    let promise = window().navigator().clipboard().write_text(text);
    wasm_bindgen_futures::spawn_local(async move {
        done(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok());
    });
}

/// The current URL fragment, with its `#`.
pub fn fragment() -> String {
    window().location().hash().unwrap_or_default()
}

/// Replaces the URL fragment without a new history entry and returns the full URL.
pub fn set_fragment(fragment: &str) -> String {
    let location = window().location();
    let base = location.href().unwrap_or_default();
    let base = base.split('#').next().unwrap_or_default().to_string();
    let url = format!("{base}{fragment}");
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
    url
}

const DRAFT_KEY: &str = "nixos-images-web/draft";

/// The request file the person was editing last time (TOML), if any.
pub fn load_draft() -> Option<String> {
    LocalStorage::raw().get_item(DRAFT_KEY).ok().flatten()
}

pub fn save_draft(toml: &str) {
    let _ = LocalStorage::raw().set_item(DRAFT_KEY, toml);
}

pub fn forget_draft() {
    LocalStorage::delete(DRAFT_KEY);
}

/// Milliseconds since navigation start.
pub fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or_default()
}

/// Records when the first output was on screen (`<body data-first-output-ms>`), for the browser test's time to
/// interactive.
pub fn mark_first_output() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-first-output-ms", &format!("{:.1}", now_ms()));
    }
}

/// Moves keyboard focus to an element by id.
pub fn focus(id: &str) {
    if let Some(el) = document().get_element_by_id(id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = el.focus();
    }
}
