//! The page: one component holding the [`Form`], the core's verdict on it and the rendered outputs.

use std::rc::Rc;

use gloo::events::EventListener;
use gloo::file::callbacks::FileReader;
use nixos_images_core::effects::{self, Notice};
use nixos_images_core::render::{bundle, cmdline, ipxe, kexec_command, networkd, nix, overlay, ArtifactKind};
use nixos_images_core::validate::{RELEASE_CMDLINE_RESERVE, REQUEST_CMDLINE_BUDGET};
use nixos_images_core::{share, ssh_key, FieldError, ImageKind, Request, ValidRequest, KERNEL_CMDLINE_LIMIT};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::browser;
use crate::form::{
    field_id, input_for, messages_for_input, notices_for_input, Form, InterfaceForm, ListKind, RouteForm,
};

pub fn start() {
    yew::Renderer::<App>::new().render();
}

type Edit = Rc<dyn Fn(&mut Form, String)>;

pub enum Msg {
    Set(Edit, String),
    Keys(String),
    AddInterface,
    RemoveInterface(usize),
    AddRoute(usize),
    RemoveRoute(usize, usize),
    Tab(Tab),
    TabKey(KeyboardEvent),
    Copy(Tab),
    Copied(bool),
    Download(Download),
    Share,
    HashChanged,
    Import(web_sys::File),
    Imported(Result<String, String>),
    Example,
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Install,
    Ipxe,
    Nix,
    Networkd,
    Cmdline,
}

impl Tab {
    const ALL: [Tab; 5] = [Tab::Install, Tab::Ipxe, Tab::Nix, Tab::Networkd, Tab::Cmdline];

    fn id(self) -> &'static str {
        match self {
            Tab::Install => "install",
            Tab::Ipxe => "ipxe",
            Tab::Nix => "nix",
            Tab::Networkd => "networkd",
            Tab::Cmdline => "cmdline",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Install => "Install command",
            Tab::Ipxe => "iPXE script",
            Tab::Nix => "NixOS module",
            Tab::Networkd => "networkd units",
            Tab::Cmdline => "Kernel command line",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Bundle,
    Overlay,
    Ipxe,
    RequestToml,
}

/// The text outputs of a valid request.
struct Outputs {
    image: ImageKind,
    install: Option<String>,
    ipxe: Option<String>,
    nix: String,
    networkd: Vec<(String, String)>,
    cmdline: String,
}

impl Outputs {
    fn render(req: &ValidRequest) -> Outputs {
        Outputs {
            image: req.image(),
            install: ArtifactKind::KexecCommand.applies_to(req.image()).then(|| kexec_command::render(req).text()),
            ipxe: ArtifactKind::Ipxe.applies_to(req.image()).then(|| ipxe::render(req).text()),
            nix: nix::render(req).text(),
            networkd: networkd::render(req)
                .files
                .into_iter()
                .map(|f| (f.path, String::from_utf8_lossy(&f.contents).into_owned()))
                .collect(),
            cmdline: cmdline::line(req),
        }
    }

    fn text(&self, tab: Tab) -> Option<String> {
        match tab {
            Tab::Install => self.install.clone(),
            Tab::Ipxe => self.ipxe.clone(),
            Tab::Nix => Some(self.nix.clone()),
            Tab::Networkd => {
                Some(self.networkd.iter().map(|(p, c)| format!("# {p}\n{c}")).collect::<Vec<_>>().join("\n"))
            }
            Tab::Cmdline => Some(self.cmdline.clone()),
        }
    }
}

pub struct App {
    form: Form,
    request: Request,
    errors: Vec<FieldError>,
    /// What the chosen installer ignores or applies only in part, shown at each field (strict: errors instead).
    notices: Vec<Notice>,
    valid: Option<ValidRequest>,
    outputs: Option<Outputs>,
    tab: Tab,
    focus_tab: bool,
    status: String,
    key_warning: bool,
    share_url: Option<String>,
    import_error: Option<String>,
    reader: Option<FileReader>,
    keys_ref: NodeRef,
    marked: bool,
    _hash_listener: EventListener,
}

impl App {
    fn recompute(&mut self) {
        let (request, mut errors) = self.form.to_request();
        let verdict = request.validate();
        if let Err(e) = &verdict {
            errors.extend(e.0.iter().cloned());
        }
        self.valid = if errors.is_empty() { verdict.ok() } else { None };
        self.notices = self.valid.as_ref().map(effects::notices).unwrap_or_default();
        self.outputs = self.valid.as_ref().map(Outputs::render);
        self.errors = errors;
        browser::save_draft(&request.to_toml());
        self.request = request;
    }

    fn load(&mut self, req: &Request) {
        self.form = Form::from_request(req);
        self.key_warning = false;
        self.recompute();
    }

    fn restore_from_fragment(&mut self) -> bool {
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
}

fn input_value(e: &InputEvent) -> String {
    if let Some(t) = e.target_dyn_into::<HtmlTextAreaElement>() {
        return t.value();
    }
    e.target_unchecked_into::<HtmlInputElement>().value()
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let link = ctx.link().clone();
        let listener = EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
            link.send_message(Msg::HashChanged);
        });
        let mut app = App {
            form: Form::default(),
            request: Request::default(),
            errors: vec![],
            notices: vec![],
            valid: None,
            outputs: None,
            tab: Tab::Install,
            focus_tab: false,
            status: String::new(),
            key_warning: false,
            share_url: None,
            import_error: None,
            reader: None,
            keys_ref: NodeRef::default(),
            marked: false,
            _hash_listener: listener,
        };
        if !app.restore_from_fragment() {
            let draft = browser::load_draft().and_then(|t| Request::parse_toml(&t).ok());
            app.load(&draft.unwrap_or_default());
        }
        if app.valid.as_ref().is_some_and(|v| v.image() == ImageKind::Netboot) {
            app.tab = Tab::Ipxe;
        }
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
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
            Msg::Download(what) => {
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
            }
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

    fn rendered(&mut self, _ctx: &Context<Self>, _first_render: bool) {
        if !self.marked && self.outputs.is_some() {
            self.marked = true;
            browser::mark_first_output();
        }
        if self.focus_tab {
            self.focus_tab = false;
            browser::focus(&format!("tab-{}", self.tab.id()));
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        html! {
            <>
            <header class="top">
                <h1>{ "nixos-images generator" }</h1>
                <p>{ "Build a personalised NixOS kexec or netboot bundle. Everything runs in this page: nothing you type is sent anywhere." }</p>
            </header>
            <main class="layout">
                { self.view_form(ctx) }
                { self.view_outputs(ctx) }
            </main>
            <p class="status" role="status" aria-live="polite" id="status">{ &self.status }</p>
            </>
        }
    }
}

/// A text input or textarea bound to a form field, with its label, hint and inline error.
struct Field<'a> {
    label: &'a str,
    id: String,
    value: &'a str,
    hint: Option<&'a str>,
    list: Option<ListKind>,
    area: bool,
    placeholder: Option<&'a str>,
}

impl App {
    fn messages(&self, id: &str, list: Option<(ListKind, &str)>) -> Vec<String> {
        messages_for_input(&self.errors, id, list)
    }

    fn field(&self, ctx: &Context<Self>, f: Field<'_>, edit: Edit) -> Html {
        let messages = self.messages(&f.id, f.list.map(|k| (k, f.value)));
        let onset = {
            let edit = edit.clone();
            ctx.link().callback(move |e: InputEvent| Msg::Set(edit.clone(), input_value(&e)))
        };
        self.field_with(f, messages, onset, NodeRef::default())
    }

    fn field_with(&self, f: Field<'_>, messages: Vec<String>, oninput: Callback<InputEvent>, node: NodeRef) -> Html {
        let err_id = format!("{}-err", f.id);
        let hint_id = format!("{}-hint", f.id);
        let invalid = !messages.is_empty();
        let notices = self.view_notices(&f.id);
        let mut described = Vec::new();
        if invalid {
            described.push(err_id.clone());
        }
        if notices.is_some() {
            described.push(format!("{}-notice", f.id));
        }
        if f.hint.is_some() {
            described.push(hint_id.clone());
        }
        let describedby = (!described.is_empty()).then(|| described.join(" "));
        let aria_invalid = invalid.then_some("true");
        let input = if f.area {
            html! {
                <textarea id={f.id.clone()} ref={node} value={f.value.to_string()} {oninput} rows="3"
                    spellcheck="false" autocomplete="off" placeholder={f.placeholder.map(str::to_string)}
                    aria-invalid={aria_invalid} aria-describedby={describedby} />
            }
        } else {
            html! {
                <input type="text" id={f.id.clone()} ref={node} value={f.value.to_string()} {oninput}
                    spellcheck="false" autocomplete="off" placeholder={f.placeholder.map(str::to_string)}
                    aria-invalid={aria_invalid} aria-describedby={describedby} />
            }
        };
        html! {
            <div class={classes!("field", invalid.then_some("invalid"))}>
                <label for={f.id.clone()}>{ f.label }</label>
                { input }
                if let Some(h) = f.hint { <small class="hint" id={hint_id}>{ h }</small> }
                if invalid {
                    <ul class="error" id={err_id}>
                        { for messages.iter().map(|m| html! { <li>{ m }</li> }) }
                    </ul>
                }
                { notices.unwrap_or_default() }
            </div>
        }
    }

    /// The notices at one input: `warning`/`note` with the installer's reason, or nothing.
    fn view_notices(&self, id: &str) -> Option<Html> {
        let here: Vec<&Notice> = notices_for_input(&self.notices, id).collect();
        if here.is_empty() {
            return None;
        }
        Some(html! {
            <ul class="notice" id={format!("{id}-notice")}>
                { for here.iter().map(|n| html! { <li class={format!("notice-{}", n.severity.as_str())}><strong>{ n.severity.as_str() }</strong>{ format!(": {}", n.message) }</li> }) }
            </ul>
        })
    }

    fn select(
        &self,
        ctx: &Context<Self>,
        label: &str,
        path: &str,
        value: &str,
        options: &[(&str, &str)],
        edit: Edit,
    ) -> Html {
        let id = field_id(path);
        let messages = self.messages(&id, None);
        let onchange = ctx
            .link()
            .callback(move |e: Event| Msg::Set(edit.clone(), e.target_unchecked_into::<HtmlSelectElement>().value()));
        let err_id = format!("{id}-err");
        let invalid = !messages.is_empty();
        html! {
            <div class={classes!("field", invalid.then_some("invalid"))}>
                <label for={id.clone()}>{ label }</label>
                <select id={id.clone()} {onchange} aria-invalid={invalid.then_some("true")}
                    aria-describedby={invalid.then(|| err_id.clone())}>
                    { for options.iter().map(|(v, l)| html! { <option value={v.to_string()} selected={*v == value}>{ *l }</option> }) }
                </select>
                if invalid {
                    <ul class="error" id={err_id}>{ for messages.iter().map(|m| html! { <li>{ m }</li> }) }</ul>
                }
            </div>
        }
    }

    fn checkbox(&self, ctx: &Context<Self>, label: &str, id: String, checked: bool, edit: Edit) -> Html {
        let onchange = ctx.link().callback(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            Msg::Set(edit.clone(), if on { "1" } else { "" }.into())
        });
        let notices = self.view_notices(&id);
        html! {
            <div class="check">
                <input type="checkbox" id={id.clone()} {checked} {onchange}
                    aria-describedby={notices.is_some().then(|| format!("{id}-notice"))} />
                <label for={id.clone()}>{ label }</label>
                { notices.unwrap_or_default() }
            </div>
        }
    }

    fn view_form(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let form = &self.form;
        let onimport = link.batch_callback(|e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let file = input.files().and_then(|l| l.get(0));
            input.set_value("");
            file.map(Msg::Import)
        });
        let keys_messages = self.messages("f-ssh_authorized_keys", Some((ListKind::Lines, &form.keys)));
        html! {
            <form class="request" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())} novalidate=true>
                <div class="toolbar">
                    <input type="file" id="import" class="visually-hidden" accept=".toml,application/toml" onchange={onimport} />
                    <label class="button" for="import">{ "Import request file…" }</label>
                    <button type="button" id="export" onclick={link.callback(|_| Msg::Download(Download::RequestToml))}>{ "Export request.toml" }</button>
                    <button type="button" id="example" onclick={link.callback(|_| Msg::Example)}>{ "Load example" }</button>
                    <button type="button" id="reset" onclick={link.callback(|_| Msg::Reset)}>{ "Reset" }</button>
                </div>
                if let Some(e) = &self.import_error { <p class="error" role="alert" id="import-error">{ e }</p> }
                { self.view_summary() }
                <fieldset>
                    <legend>{ "Image" }</legend>
                    <div class="row">
                        { self.select(ctx, "Image kind", "image", &form.image, &[("kexec", "kexec (from a running Linux)"), ("kexec-noninteractive", "kexec, non-interactive"), ("netboot", "netboot (iPXE)")], Rc::new(|f, v| f.image = v)) }
                        { self.select(ctx, "Architecture", "arch", &form.arch, &[("x86_64-linux", "x86_64-linux"), ("aarch64-linux", "aarch64-linux")], Rc::new(|f, v| f.arch = v)) }
                        { self.field(ctx, Field { label: "Channel", id: field_id("channel"), value: &form.channel, hint: Some("nixos-unstable or nixos-YY.MM"), list: None, area: false, placeholder: None }, Rc::new(|f, v| f.channel = v)) }
                        { self.select(ctx, "Installer images", "release.installer", &form.installer, &[("upstream", "nix-community's (upstream)"), ("nixos-images", "this project's (nixos-images)")], Rc::new(|f, v| f.installer = v)) }
                    </div>
                    { self.checkbox(ctx, "Strict: refuse fields the installer would ignore", field_id("strict"), form.strict, Rc::new(|f, v| f.strict = !v.is_empty())) }
                    <details open={!form.base_url.is_empty() || !form.tag.is_empty() || !form.sha256.is_empty()}>
                        <summary>{ "Release" }</summary>
                        { self.field(ctx, Field { label: "Release base URL", id: field_id("release.base_url"), value: &form.base_url, hint: Some("empty: the project's GitHub releases"), list: None, area: false, placeholder: Some(nixos_images_core::DEFAULT_RELEASE_BASE_URL) }, Rc::new(|f, v| f.base_url = v)) }
                        { self.field(ctx, Field { label: "Release tag", id: field_id("release.tag"), value: &form.tag, hint: Some("empty: the channel"), list: None, area: false, placeholder: None }, Rc::new(|f, v| f.tag = v)) }
                        { self.field(ctx, Field { label: "kexec tarball SHA-256", id: field_id("release.kexec_tarball_sha256"), value: &form.sha256, hint: Some("optional: the install command then verifies the download"), list: None, area: false, placeholder: None }, Rc::new(|f, v| f.sha256 = v)) }
                    </details>
                </fieldset>
                <fieldset>
                    <legend>{ "Access" }</legend>
                    { self.field_with(Field { label: "SSH public keys for root", id: "f-ssh_authorized_keys".into(), value: &form.keys, hint: Some("one per line, as in authorized_keys (the contents of a .pub file)"), list: Some(ListKind::Lines), area: true, placeholder: Some("ssh-ed25519 AAAA… you@laptop") }, keys_messages, link.callback(|e: InputEvent| Msg::Keys(input_value(&e))), self.keys_ref.clone()) }
                    if self.key_warning {
                        <p class="warning" role="alert" id="private-key-warning">
                            { "That was a PRIVATE key. It has been cleared and was not kept or sent anywhere. Never share it: paste the public key (the .pub file) instead." }
                        </p>
                    }
                    { self.field(ctx, Field { label: "Host name", id: field_id("hostname"), value: &form.hostname, hint: Some("optional, one label such as web1"), list: None, area: false, placeholder: None }, Rc::new(|f, v| f.hostname = v)) }
                </fieldset>
                <fieldset>
                    <legend>{ "Network" }</legend>
                    <p class="hint">{ "Without interfaces the installer uses DHCP and router advertisements on every ethernet link." }</p>
                    { for form.interfaces.iter().enumerate().map(|(i, iface)| self.view_interface(ctx, i, iface)) }
                    <button type="button" id="add-interface" onclick={link.callback(|_| Msg::AddInterface)}>{ "Add interface" }</button>
                    { self.field(ctx, Field { label: "Nameservers", id: field_id("nameservers"), value: &form.nameservers, hint: Some("IP addresses, one per line"), list: Some(ListKind::Words), area: true, placeholder: None }, Rc::new(|f, v| f.nameservers = v)) }
                </fieldset>
                <fieldset>
                    <legend>{ "Kernel and kexec" }</legend>
                    { self.field(ctx, Field { label: "Kernel parameters", id: field_id("kernel_params"), value: &form.kernel_params, hint: Some("separated by spaces, e.g. console=ttyS0,115200"), list: Some(ListKind::Words), area: true, placeholder: None }, Rc::new(|f, v| f.kernel_params = v)) }
                    <div class="row">
                        { self.field(ctx, Field { label: "kexec delay (seconds)", id: field_id("kexec.delay_seconds"), value: &form.delay, hint: None, list: None, area: false, placeholder: None }, Rc::new(|f, v| f.delay = v)) }
                        { self.field(ctx, Field { label: "Extra kexec flags", id: field_id("kexec.extra_flags"), value: &form.extra_flags, hint: Some("separated by spaces"), list: Some(ListKind::Words), area: false, placeholder: None }, Rc::new(|f, v| f.extra_flags = v)) }
                    </div>
                </fieldset>
            </form>
        }
    }

    fn view_interface(&self, ctx: &Context<Self>, i: usize, iface: &InterfaceForm) -> Html {
        let link = ctx.link();
        let p = format!("interfaces[{i}]");
        html! {
            <fieldset class="interface" id={format!("interface-{i}")}>
                <legend>{ format!("Interface {}", i + 1) }</legend>
                <div class="row">
                    { self.select(ctx, "Match by", &format!("{p}.match_by"), if iface.by_mac { "mac" } else { "name" }, &[("mac", "MAC address"), ("name", "interface name")], Rc::new(move |f, v| f.interfaces[i].by_mac = v == "mac")) }
                    { self.field(ctx, Field { label: if iface.by_mac { "MAC address" } else { "Interface name" }, id: field_id(&format!("{p}.match")), value: &iface.matcher, hint: None, list: None, area: false, placeholder: Some(if iface.by_mac { "52:54:00:12:34:56" } else { "eth0" }) }, Rc::new(move |f, v| f.interfaces[i].matcher = v)) }
                </div>
                { self.checkbox(ctx, "DHCP and router advertisements", field_id(&format!("{p}.dhcp")), iface.dhcp, Rc::new(move |f, v| f.interfaces[i].dhcp = !v.is_empty())) }
                { self.field(ctx, Field { label: "Static addresses", id: field_id(&format!("{p}.addresses")), value: &iface.addresses, hint: Some("CIDR, one per line, e.g. 203.0.113.10/32"), list: Some(ListKind::Words), area: true, placeholder: None }, Rc::new(move |f, v| f.interfaces[i].addresses = v)) }
                { for iface.routes.iter().enumerate().map(|(j, r)| self.view_route(ctx, i, j, r)) }
                <div class="buttons">
                    <button type="button" id={format!("add-route-{i}")} onclick={link.callback(move |_| Msg::AddRoute(i))}>{ "Add route" }</button>
                    <button type="button" class="danger" id={format!("remove-interface-{i}")} onclick={link.callback(move |_| Msg::RemoveInterface(i))}>{ format!("Remove interface {}", i + 1) }</button>
                </div>
            </fieldset>
        }
    }

    fn view_route(&self, ctx: &Context<Self>, i: usize, j: usize, r: &RouteForm) -> Html {
        let p = format!("interfaces[{i}].routes[{j}]");
        html! {
            <div class="route" role="group" aria-label={format!("Route {}", j + 1)}>
                { self.field(ctx, Field { label: "Destination", id: field_id(&format!("{p}.destination")), value: &r.destination, hint: None, list: None, area: false, placeholder: Some("default or 10.0.0.0/8") }, Rc::new(move |f, v| f.interfaces[i].routes[j].destination = v)) }
                { self.field(ctx, Field { label: "Gateway", id: field_id(&format!("{p}.gateway")), value: &r.gateway, hint: None, list: None, area: false, placeholder: None }, Rc::new(move |f, v| f.interfaces[i].routes[j].gateway = v)) }
                { self.checkbox(ctx, "on-link", field_id(&format!("{p}.on_link")), r.on_link, Rc::new(move |f, v| f.interfaces[i].routes[j].on_link = !v.is_empty())) }
                <button type="button" class="danger" id={format!("remove-route-{i}-{j}")} aria-label={format!("Remove route {} of interface {}", j + 1, i + 1)}
                    onclick={ctx.link().callback(move |_| Msg::RemoveRoute(i, j))}>{ "Remove" }</button>
            </div>
        }
    }

    fn view_summary(&self) -> Html {
        if self.errors.is_empty() {
            return html! {};
        }
        let n = self.errors.len();
        html! {
            <div class="summary" id="error-summary">
                <p>{ format!("{n} problem{} to fix before the outputs can be made:", if n == 1 { "" } else { "s" }) }</p>
                <ul>
                    { for self.errors.iter().map(|e| html! {
                        <li><a href={format!("#{}", input_for(&e.path))} onclick={
                            let id = input_for(&e.path);
                            Callback::from(move |ev: MouseEvent| { ev.prevent_default(); browser::focus(&id); })
                        }><code>{ e.path.to_string() }</code></a>{ format!(": {}", e.message) }</li>
                    }) }
                </ul>
            </div>
        }
    }

    fn view_outputs(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let valid = self.outputs.is_some();
        let netboot = self.valid.as_ref().is_some_and(|v| v.image() == ImageKind::Netboot);
        html! {
            <section class="outputs" aria-label="Outputs">
                <div class="tabs" role="tablist" aria-label="Outputs" onkeydown={link.callback(Msg::TabKey)}>
                    { for Tab::ALL.iter().map(|t| {
                        let t = *t;
                        let selected = t == self.tab;
                        html! {
                            <button type="button" role="tab" id={format!("tab-{}", t.id())} aria-selected={selected.to_string()}
                                aria-controls={format!("panel-{}", t.id())} tabindex={if selected { "0" } else { "-1" }}
                                onclick={link.callback(move |_| Msg::Tab(t))}>{ t.label() }</button>
                        }
                    }) }
                </div>
                { for Tab::ALL.iter().map(|t| self.view_panel(ctx, *t)) }
                <div class="downloads">
                    <button type="button" id="download-bundle" class="primary" disabled={!valid} onclick={link.callback(|_| Msg::Download(Download::Bundle))}>{ "Download bundle (.tar.gz)" }</button>
                    <button type="button" id="download-overlay" disabled={!valid} onclick={link.callback(|_| Msg::Download(Download::Overlay))}>{ "Overlay only" }</button>
                    <button type="button" id="download-ipxe" disabled={!netboot} title={(!netboot).then_some("netboot images only")} onclick={link.callback(|_| Msg::Download(Download::Ipxe))}>{ "iPXE script only" }</button>
                </div>
                <div class="share">
                    <button type="button" id="share" onclick={link.callback(|_| Msg::Share)}>{ "Share link" }</button>
                    if let Some(url) = &self.share_url {
                        <label for="share-url" class="visually-hidden">{ "Share link" }</label>
                        <input id="share-url" type="text" readonly=true value={url.clone()} />
                        <small class="hint">{ "The request is in the part after #, which browsers never send to a server." }</small>
                    }
                </div>
            </section>
        }
    }

    fn view_panel(&self, ctx: &Context<Self>, tab: Tab) -> Html {
        let id = tab.id();
        let body = match &self.outputs {
            None => html! { <p class="placeholder">{ "Fix the problems in the form to see this output." }</p> },
            Some(o) => match tab {
                Tab::Networkd if o.networkd.is_empty() => {
                    html! { <p class="placeholder">{ "No interfaces configured: no networkd units." }</p> }
                }
                Tab::Networkd => html! {
                    <div id="out-networkd">
                        { for o.networkd.iter().map(|(p, c)| html! {
                            <>
                            <h3>{ p }</h3>
                            <pre class="out" data-path={p.clone()}><code>{ c }</code></pre>
                            </>
                        }) }
                    </div>
                },
                Tab::Cmdline => html! { <pre class="out" id="out-cmdline"><code>{ &o.cmdline }</code></pre> },
                _ => match o.text(tab) {
                    Some(text) => html! { <pre class="out" id={format!("out-{id}")}><code>{ text }</code></pre> },
                    None => {
                        let which = if tab == Tab::Ipxe { "netboot images" } else { "kexec images" };
                        html! { <p class="placeholder">{ format!("Only for {which}: change the image kind to see it.") }</p> }
                    }
                },
            },
        };
        let copyable = self.outputs.as_ref().and_then(|o| o.text(tab)).is_some_and(|t| !t.is_empty());
        // The byte count is shown as typed, also while the form has errors (an over-long line is one of them).
        let counter = match (tab, cmdline::request_params_unchecked(&self.request)) {
            (Tab::Cmdline, Some(line)) => {
                let used = line.len();
                let budget = REQUEST_CMDLINE_BUDGET;
                let text = if used <= budget {
                    format!(" {used} bytes used of {KERNEL_CMDLINE_LIMIT} ({RELEASE_CMDLINE_RESERVE} kept for the release's own parameters; {} left)", budget - used)
                } else {
                    format!(" {used} bytes used of {KERNEL_CMDLINE_LIMIT}: {} too many ({RELEASE_CMDLINE_RESERVE} are kept for the release's own parameters)", used - budget)
                };
                html! {
                    <p id="cmdline-bytes" class={classes!((used > budget).then_some("over"))}>
                        <meter min="0" max={KERNEL_CMDLINE_LIMIT.to_string()} high={budget.to_string()} value={(used + RELEASE_CMDLINE_RESERVE).to_string()} />
                        { text }
                    </p>
                }
            }
            _ => html! {},
        };
        html! {
            <div class="panel" role="tabpanel" id={format!("panel-{id}")} aria-labelledby={format!("tab-{id}")} hidden={tab != self.tab}>
                <div class="panel-head">
                    <button type="button" id={format!("copy-{id}")} disabled={!copyable} onclick={ctx.link().callback(move |_| Msg::Copy(tab))}>{ "Copy" }</button>
                </div>
                { body }
                { counter }
            </div>
        }
    }
}
