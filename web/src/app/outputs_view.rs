//! The outputs: tabs with one panel each (copy button, text, the command-line byte counter), downloads and the
//! share link.

use nixos_images_core::render::cmdline;
use nixos_images_core::validate::{RELEASE_CMDLINE_RESERVE, REQUEST_CMDLINE_BUDGET};
use nixos_images_core::{ImageKind, KERNEL_CMDLINE_LIMIT};
use yew::prelude::*;

use super::msg::{Download, Msg, Tab};
use super::App;

#[derive(Properties, PartialEq)]
struct LinesProps {
    text: AttrValue,
}

/// An output's text as one text node per line, rendered again only when the text changed: an edit changes a few
/// lines, and the browser then updates and lays out those nodes instead of the whole text (the element's text is
/// the same).
#[function_component]
fn Lines(props: &LinesProps) -> Html {
    props.text.split_inclusive('\n').map(|line| Html::from(line.to_string())).collect()
}

impl App {
    pub(super) fn view_outputs(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let valid = self.outputs.is_some();
        let netboot = self.valid.as_ref().is_some_and(|v| v.image() == ImageKind::Netboot);
        let tab = |t: &Tab| {
            let t = *t;
            let selected = t == self.tab;
            html! {
                <button type="button" role="tab" id={format!("tab-{}", t.id())} aria-selected={selected.to_string()}
                    aria-controls={format!("panel-{}", t.id())} tabindex={if selected { "0" } else { "-1" }}
                    onclick={link.callback(move |_| Msg::Tab(t))}>{ t.label() }</button>
            }
        };
        let download = |what: Download| link.callback(move |_| Msg::Download(what));
        html! {
            <section class="outputs" aria-label="Outputs">
                <div class="tabs" role="tablist" aria-label="Outputs" onkeydown={link.callback(Msg::TabKey)}>
                    { for Tab::ALL.iter().map(tab) }
                </div>
                { for Tab::ALL.iter().map(|t| self.view_panel(ctx, *t)) }
                <div class="downloads">
                    <button type="button" id="download-bundle" class="primary" disabled={!valid}
                        onclick={download(Download::Bundle)}>{ "Download bundle (.tar.gz)" }</button>
                    <button type="button" id="download-overlay" disabled={!valid}
                        onclick={download(Download::Overlay)}>{ "Overlay only" }</button>
                    <button type="button" id="download-ipxe" disabled={!netboot}
                        title={(!netboot).then_some("netboot images only")}
                        onclick={download(Download::Ipxe)}>{ "iPXE script only" }</button>
                </div>
                <div class="share">
                    <button type="button" id="share" onclick={link.callback(|_| Msg::Share)}>{ "Share link" }</button>
                    if let Some(url) = &self.share_url {
                        <label for="share-url" class="visually-hidden">{ "Share link" }</label>
                        <input id="share-url" type="text" readonly=true value={url.clone()} />
                        <small class="hint">
                            { "The request is in the part after #, which browsers never send to a server." }
                        </small>
                    }
                </div>
            </section>
        }
    }

    fn view_panel(&self, ctx: &Context<Self>, tab: Tab) -> Html {
        let id = tab.id();
        let copyable = self.outputs.as_ref().is_some_and(|o| o.has_text(tab));
        html! {
            <div class="panel" role="tabpanel" id={format!("panel-{id}")} aria-labelledby={format!("tab-{id}")}
                hidden={tab != self.tab}>
                <div class="panel-head">
                    <button type="button" id={format!("copy-{id}")} disabled={!copyable}
                        onclick={ctx.link().callback(move |_| Msg::Copy(tab))}>{ "Copy" }</button>
                </div>
                { self.view_panel_body(tab) }
                if tab == Tab::Cmdline { { self.view_cmdline_bytes() } }
            </div>
        }
    }

    fn view_panel_body(&self, tab: Tab) -> Html {
        let Some(o) = &self.outputs else {
            return html! { <p class="placeholder">{ "Fix the problems in the form to see this output." }</p> };
        };
        let text = match tab {
            Tab::Networkd if o.networkd.is_empty() => {
                return html! { <p class="placeholder">{ "No interfaces configured: no networkd units." }</p> };
            }
            Tab::Networkd => {
                let unit = |(path, contents): &(AttrValue, AttrValue)| {
                    html! {
                        <>
                        <h3>{ path.clone() }</h3>
                        <pre class="out" data-path={path.clone()}><code><Lines text={contents.clone()} /></code></pre>
                        </>
                    }
                };
                return html! { <div id="out-networkd">{ for o.networkd.iter().map(unit) }</div> };
            }
            Tab::Install => o.install.as_ref(),
            Tab::Ipxe => o.ipxe.as_ref(),
            Tab::Nix => Some(&o.nix),
            Tab::Cmdline => Some(&o.cmdline),
        };
        match text {
            Some(text) => html! {
                <pre class="out" id={format!("out-{}", tab.id())}><code><Lines text={text.clone()} /></code></pre>
            },
            None => {
                let which = if tab == Tab::Ipxe { "netboot images" } else { "kexec images" };
                let text = format!("Only for {which}: change the image kind to see it.");
                html! { <p class="placeholder">{ text }</p> }
            }
        }
    }

    /// The command line's byte count, shown as typed, also while the form has errors (an over-long line is one of
    /// them).
    fn view_cmdline_bytes(&self) -> Html {
        let Some(line) = cmdline::request_params_unchecked(&self.request) else { return html! {} };
        let used = line.len();
        let budget = REQUEST_CMDLINE_BUDGET;
        let text = if used <= budget {
            format!(
                " {used} bytes used of {KERNEL_CMDLINE_LIMIT} ({RELEASE_CMDLINE_RESERVE} kept for the release's own \
                 parameters; {} left)",
                budget - used
            )
        } else {
            format!(
                " {used} bytes used of {KERNEL_CMDLINE_LIMIT}: {} too many ({RELEASE_CMDLINE_RESERVE} are kept for the \
                 release's own parameters)",
                used - budget
            )
        };
        html! {
            <p id="cmdline-bytes" class={classes!((used > budget).then_some("over"))}>
                <meter min="0" max={KERNEL_CMDLINE_LIMIT.to_string()} high={budget.to_string()}
                    value={(used + RELEASE_CMDLINE_RESERVE).to_string()} />
                { text }
            </p>
        }
    }
}
