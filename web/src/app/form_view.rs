//! The request form: toolbar (import, export, example, reset), the error summary and the fieldsets.

use std::rc::Rc;

use nixos_images_core::validate::MIN_KEXEC_DELAY_SECONDS;
use nixos_images_core::DEFAULT_RELEASE_BASE_URL;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::msg::{Download, Msg};
use super::widgets::{input_value, Field};
use super::App;
use crate::browser;
use crate::form::{field_id, input_for, ListKind};

const IMAGE_KINDS: &[(&str, &str)] = &[
    ("kexec", "kexec (from a running Linux)"),
    ("kexec-noninteractive", "kexec, non-interactive"),
    ("netboot", "netboot (iPXE)"),
];
const ARCHES: &[(&str, &str)] = &[("x86_64-linux", "x86_64-linux"), ("aarch64-linux", "aarch64-linux")];
const INSTALLERS: &[(&str, &str)] =
    &[("upstream", "nix-community's (upstream)"), ("nixos-images", "this project's (nixos-images)")];

const PRIVATE_KEY_WARNING: &str = concat!(
    "That was a PRIVATE key. It has been cleared and was not kept or sent anywhere. ",
    "Never share it: paste the public key (the .pub file) instead.",
);

impl App {
    pub(super) fn view_form(&self, ctx: &Context<Self>) -> Html {
        html! {
            <form class="request" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())} novalidate=true>
                { self.view_toolbar(ctx) }
                if let Some(e) = &self.import_error { <p class="error" role="alert" id="import-error">{ e }</p> }
                { self.view_summary() }
                { self.view_image() }
                { self.view_access(ctx) }
                { self.view_network(ctx) }
                { self.view_kernel() }
            </form>
        }
    }

    fn view_toolbar(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let onimport = link.batch_callback(|e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let file = input.files().and_then(|l| l.get(0));
            input.set_value("");
            file.map(Msg::Import)
        });
        html! {
            <div class="toolbar">
                <input type="file" id="import" class="visually-hidden" accept=".toml,application/toml"
                    onchange={onimport} />
                <label class="button" for="import">{ "Import request file…" }</label>
                <button type="button" id="export" onclick={link.callback(|_| Msg::Download(Download::RequestToml))}>
                    { "Export request.toml" }
                </button>
                <button type="button" id="example" onclick={link.callback(|_| Msg::Example)}>
                    { "Load example" }
                </button>
                <button type="button" id="reset" onclick={link.callback(|_| Msg::Reset)}>{ "Reset" }</button>
            </div>
        }
    }

    fn view_summary(&self) -> Html {
        if self.errors.is_empty() {
            return html! {};
        }
        let n = self.errors.len();
        let heading = format!("{n} problem{} to fix before the outputs can be made:", if n == 1 { "" } else { "s" });
        let item = |e: &nixos_images_core::FieldError| {
            let id = input_for(&e.path);
            let href = format!("#{id}");
            let onclick = Callback::from(move |ev: MouseEvent| {
                ev.prevent_default();
                browser::focus(&id);
            });
            html! {
                <li><a {href} {onclick}><code>{ e.path.to_string() }</code></a>{ format!(": {}", e.message) }</li>
            }
        };
        html! {
            <div class="summary" id="error-summary">
                <p>{ heading }</p>
                <ul>{ for self.errors.iter().map(item) }</ul>
            </div>
        }
    }

    fn view_image(&self) -> Html {
        let form = &self.form;
        let w = self.widgets();
        let release_open = !form.base_url.is_empty() || !form.tag.is_empty() || !form.sha256.is_empty();
        let channel = Field::line("Channel", "channel", &form.channel).hint("nixos-unstable or nixos-YY.MM");
        let base_url = Field::line("Release base URL", "release.base_url", &form.base_url)
            .hint("empty: the project's GitHub releases")
            .placeholder(DEFAULT_RELEASE_BASE_URL);
        let tag = Field::line("Release tag", "release.tag", &form.tag).hint("empty: the channel");
        let sha256 = Field::line("kexec tarball SHA-256", "release.kexec_tarball_sha256", &form.sha256)
            .hint("optional: the install command then verifies the download");
        html! {
            <fieldset>
                <legend>{ "Image" }</legend>
                <div class="row">
                    { w.select("Image kind", "image", &form.image, IMAGE_KINDS, Rc::new(|f, v| f.image = v)) }
                    { w.select("Architecture", "arch", &form.arch, ARCHES, Rc::new(|f, v| f.arch = v)) }
                    { w.field(channel, Rc::new(|f, v| f.channel = v)) }
                    { w.select("Installer images", "release.installer", &form.installer, INSTALLERS,
                        Rc::new(|f, v| f.installer = v)) }
                </div>
                { w.checkbox("Strict: refuse fields the installer would ignore", field_id("strict"),
                    form.strict, Rc::new(|f, v| f.strict = !v.is_empty())) }
                <details open={release_open}>
                    <summary>{ "Release" }</summary>
                    { w.field(base_url, Rc::new(|f, v| f.base_url = v)) }
                    { w.field(tag, Rc::new(|f, v| f.tag = v)) }
                    { w.field(sha256, Rc::new(|f, v| f.sha256 = v)) }
                </details>
            </fieldset>
        }
    }

    fn view_access(&self, ctx: &Context<Self>) -> Html {
        let form = &self.form;
        let w = self.widgets();
        let keys = Field::list("SSH public keys for root", "ssh_authorized_keys", &form.keys, ListKind::Lines)
            .hint("one per line, as in authorized_keys (the contents of a .pub file)")
            .placeholder("ssh-ed25519 AAAA… you@laptop");
        let keys_messages = w.messages(&keys.id, Some((ListKind::Lines, &form.keys)));
        let onkeys = ctx.link().callback(|e: InputEvent| Msg::Keys(input_value(&e)));
        let hostname = Field::line("Host name", "hostname", &form.hostname).hint("optional, one label such as web1");
        html! {
            <fieldset>
                <legend>{ "Access" }</legend>
                { w.field_with(keys, keys_messages, onkeys, self.keys_ref.clone()) }
                if self.key_warning {
                    <p class="warning" role="alert" id="private-key-warning">{ PRIVATE_KEY_WARNING }</p>
                }
                { w.field(hostname, Rc::new(|f, v| f.hostname = v)) }
            </fieldset>
        }
    }

    fn view_network(&self, ctx: &Context<Self>) -> Html {
        let form = &self.form;
        let w = self.widgets();
        let nameservers = Field::list("Nameservers", "nameservers", &form.nameservers, ListKind::Words)
            .hint("IP addresses, one per line");
        html! {
            <fieldset>
                <legend>{ "Network" }</legend>
                <p class="hint">
                    { "Without interfaces the installer uses DHCP and router advertisements on every ethernet link." }
                </p>
                { for form.interfaces.iter().enumerate().map(|(i, iface)| self.view_interface(i, iface)) }
                <button type="button" id="add-interface" onclick={ctx.link().callback(|_| Msg::AddInterface)}>
                    { "Add interface" }
                </button>
                { w.field(nameservers, Rc::new(|f, v| f.nameservers = v)) }
            </fieldset>
        }
    }

    fn view_kernel(&self) -> Html {
        let form = &self.form;
        let w = self.widgets();
        let params = Field::list("Kernel parameters", "kernel_params", &form.kernel_params, ListKind::Words)
            .hint("separated by spaces, e.g. console=ttyS0,115200");
        let delay_hint = format!("at least {MIN_KEXEC_DELAY_SECONDS}: the SSH session that ran kexec/run closes first");
        let delay = Field::line("kexec delay (seconds)", "kexec.delay_seconds", &form.delay).hint(&delay_hint);
        let flags = Field::list("Extra kexec flags", "kexec.extra_flags", &form.extra_flags, ListKind::Words)
            .one_line()
            .hint("separated by spaces");
        let panic = Field::line("Reboot after a panic (seconds)", "kexec.panic_reboot_seconds", &form.panic_reboot)
            .hint("0: never; the machine comes back in the system on its disk");
        let rollback = Field::line("Reboot unless someone logs in (minutes)", "kexec.rollback_minutes", &form.rollback)
            .hint("this project's kexec images; 0: off; an SSH login turns it off for good");
        html! {
            <fieldset>
                <legend>{ "Kernel and kexec" }</legend>
                { w.field(params, Rc::new(|f, v| f.kernel_params = v)) }
                <div class="row">
                    { w.field(delay, Rc::new(|f, v| f.delay = v)) }
                    { w.field(flags, Rc::new(|f, v| f.extra_flags = v)) }
                    { w.field(panic, Rc::new(|f, v| f.panic_reboot = v)) }
                    { w.field(rollback, Rc::new(|f, v| f.rollback = v)) }
                </div>
            </fieldset>
        }
    }
}
