//! The messages' effects: edits of the form (each followed by [`App::recompute`]), tabs, copy, downloads, share
//! link, import, example and reset.

use std::collections::HashMap;
use std::rc::Rc;

use nixos_images_core::effects::{self, Notice};
use nixos_images_core::render::{bundle, ipxe, overlay};
use nixos_images_core::{share, ssh_key, FieldError, FieldPath, ImageKind, Request};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::msg::{Download, Msg, Tab};
use super::outputs::Outputs;
use super::widgets::Notes;
use super::App;
use crate::browser;
use crate::form::{input_for, Form, InterfaceForm, RouteForm};

/// Entries grouped by the input that shows them, in their order.
fn by_input<T: Clone>(entries: &[T], path: impl Fn(&T) -> &FieldPath) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for e in entries {
        map.entry(input_for(path(e))).or_default().push(e.clone());
    }
    map
}

impl App {
    /// Rebuilds the request from the form, validates it and renders the outputs; saves the draft.
    pub(super) fn recompute(&mut self) {
        let (request, mut errors) = self.form.to_request();
        let verdict = request.validate();
        if let Err(e) = &verdict {
            errors.extend(e.0.iter().cloned());
        }
        self.valid = if errors.is_empty() { verdict.ok() } else { None };
        let notices: Vec<Notice> = self.valid.as_ref().map(effects::notices).unwrap_or_default();
        self.notes =
            Notes { errors: by_input(&errors, |e: &FieldError| &e.path), notices: by_input(&notices, |n| &n.path) };
        self.interface_notes = self.per_interface();
        self.outputs = self.valid.as_ref().map(Outputs::render);
        self.errors = errors;
        browser::save_draft(&request.to_toml());
        self.request = request;
    }

    /// The notes of each interface's inputs (ids `f-interfaces-<i>-…`).
    fn per_interface(&self) -> Vec<Rc<Notes>> {
        let mut per: Vec<Notes> = self.form.interfaces.iter().map(|_| Notes::default()).collect();
        let interface =
            |id: &str| -> Option<usize> { id.strip_prefix("f-interfaces-")?.split('-').next()?.parse().ok() };
        for (id, errors) in &self.notes.errors {
            if let Some(notes) = interface(id).and_then(|i| per.get_mut(i)) {
                notes.errors.insert(id.clone(), errors.clone());
            }
        }
        for (id, notices) in &self.notes.notices {
            if let Some(notes) = interface(id).and_then(|i| per.get_mut(i)) {
                notes.notices.insert(id.clone(), notices.clone());
            }
        }
        per.into_iter().map(Rc::new).collect()
    }

    pub(super) fn load(&mut self, req: &Request) {
        self.form = Form::from_request(req);
        self.key_warning = false;
        self.recompute();
    }

    pub(super) fn restore_from_fragment(&mut self) -> bool {
        match share::from_fragment(&browser::fragment()) {
            Ok(req) => {
                self.load(&req);
                self.status = "Restored the request from the link.".into();
                true
            }
            Err(share::ShareError::Missing) => false,
            Err(e) => {
                self.import_error = Some(e.to_string());
                false
            }
        }
    }

    /// `Component::update`: whether the page must be rendered again.
    pub(super) fn handle(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Set(edit, value) => {
                edit(&mut self.form, value);
                self.recompute();
                if let Some(o) = &self.outputs {
                    // Keep the tab meaningful when the image kind changes.
                    match (self.tab, o.image) {
                        (Tab::Install, ImageKind::Netboot) => self.tab = Tab::Ipxe,
                        (Tab::Ipxe, ImageKind::Kexec | ImageKind::KexecNoninteractive) => self.tab = Tab::Install,
                        _ => {}
                    }
                }
            }
            Msg::Keys(value) => {
                if ssh_key::contains_private_key(&value) {
                    self.form.keys.clear();
                    self.key_warning = true;
                    if let Some(t) = self.keys_ref.cast::<HtmlTextAreaElement>() {
                        t.set_value("");
                    }
                } else {
                    self.form.keys = value;
                    self.key_warning = false;
                }
                self.recompute();
            }
            Msg::AddInterface => {
                self.form.interfaces.push(InterfaceForm::default());
                self.recompute();
            }
            Msg::RemoveInterface(i) => {
                self.form.interfaces.remove(i);
                self.recompute();
            }
            Msg::AddRoute(i) => {
                self.form.interfaces[i].routes.push(RouteForm::default());
                self.recompute();
            }
            Msg::RemoveRoute(i, j) => {
                self.form.interfaces[i].routes.remove(j);
                self.recompute();
            }
            Msg::Tab(t) => self.tab = t,
            Msg::TabKey(e) => {
                let at = Tab::ALL.iter().position(|t| *t == self.tab).unwrap_or(0);
                let next = match e.key().as_str() {
                    "ArrowRight" => (at + 1) % Tab::ALL.len(),
                    "ArrowLeft" => (at + Tab::ALL.len() - 1) % Tab::ALL.len(),
                    "Home" => 0,
                    "End" => Tab::ALL.len() - 1,
                    _ => return false,
                };
                e.prevent_default();
                self.tab = Tab::ALL[next];
                self.focus_tab = true;
            }
            Msg::Copy(tab) => {
                if let Some(text) = self.outputs.as_ref().and_then(|o| o.text(tab)) {
                    let link = ctx.link().clone();
                    browser::copy(&text, move |ok| link.send_message(Msg::Copied(ok)));
                }
                return false;
            }
            Msg::Copied(ok) => {
                self.status = if ok { "Copied to the clipboard." } else { "The browser refused the clipboard." }.into();
            }
            Msg::Download(what) => return self.download(what),
            Msg::Share => {
                let url = browser::set_fragment(&share::to_fragment(&self.request));
                let link = ctx.link().clone();
                browser::copy(&url, move |ok| {
                    link.send_message(Msg::Copied(ok));
                });
                self.share_url = Some(url);
            }
            Msg::HashChanged => {
                return self.restore_from_fragment();
            }
            Msg::Import(file) => {
                let link = ctx.link().clone();
                let name = file.name();
                let blob = gloo::file::Blob::from(file);
                self.reader = Some(gloo::file::callbacks::read_as_text(&blob, move |r| {
                    link.send_message(Msg::Imported(r.map_err(|e| format!("{name}: {e}"))));
                }));
                return false;
            }
            Msg::Imported(result) => {
                self.reader = None;
                match result.and_then(|t| Request::parse_toml(&t).map_err(|e| e.to_string())) {
                    Ok(req) => {
                        self.load(&req);
                        self.import_error = None;
                        self.status = "Imported the request file.".into();
                    }
                    Err(e) => self.import_error = Some(format!("Could not import: {e}")),
                }
            }
            Msg::Example => {
                if let Ok(req) = Request::parse_toml(nixos_images_core::EXAMPLE_REQUEST) {
                    self.load(&req);
                }
            }
            Msg::Reset => {
                browser::forget_draft();
                self.load(&Request::default());
                self.share_url = None;
                self.import_error = None;
            }
        }
        true
    }

    fn download(&mut self, what: Download) -> bool {
        if what == Download::RequestToml {
            browser::download("request.toml", "application/toml", self.request.to_toml().as_bytes());
            self.status = "Downloaded request.toml.".into();
            return true;
        }
        let Some(req) = &self.valid else { return false };
        let artifact = match what {
            Download::Bundle => bundle::render(req),
            Download::Overlay => overlay::render(req),
            Download::Ipxe => ipxe::render(req),
            Download::RequestToml => unreachable!("handled above"),
        };
        for f in &artifact.files {
            let mime = if f.path.ends_with(".gz") { "application/gzip" } else { "text/plain" };
            browser::download(&f.path, mime, &f.contents);
            self.status = format!("Downloaded {} ({} bytes).", f.path, f.contents.len());
        }
        true
    }
}
