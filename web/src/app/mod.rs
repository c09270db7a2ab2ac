//! The page: one component holding the [`Form`], the core's verdict on it and the rendered outputs.
//!
//! `update.rs` handles the messages (`msg.rs`) and recomputes the verdict after each edit; `outputs.rs` holds the
//! rendered texts; the views are `form_view.rs` (the request form), `interface_view.rs` (one interface and its
//! routes), `outputs_view.rs` (tabs, downloads, share link) and `widgets.rs` (a labelled input, select or checkbox
//! with its errors and notices).

mod form_view;
mod interface_view;
mod msg;
mod outputs;
mod outputs_view;
mod update;
mod widgets;

use std::rc::Rc;

use gloo::events::EventListener;
use gloo::file::callbacks::FileReader;
use nixos_images_core::{FieldError, ImageKind, Request, ValidRequest};
use yew::prelude::*;

use crate::browser;
use crate::form::Form;
use msg::{Msg, Tab};
use outputs::Outputs;
use widgets::{Notes, Widgets};

pub fn start() {
    yew::Renderer::<App>::new().render();
}

pub struct App {
    form: Form,
    request: Request,
    errors: Vec<FieldError>,
    /// The errors and notices of every input.
    notes: Notes,
    /// Those of each interface's inputs, the interface components' properties.
    interface_notes: Vec<Rc<Notes>>,
    /// Sends a message to this component; the same callback for the component's life.
    send: Callback<Msg>,
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
    fn widgets(&self) -> Widgets<'_> {
        Widgets { notes: &self.notes, send: &self.send }
    }
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
            notes: Notes::default(),
            interface_notes: vec![],
            send: ctx.link().callback(|msg: Msg| msg),
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
        self.handle(ctx, msg)
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
                <p>{ concat!(
                    "Build a personalised NixOS kexec or netboot bundle. ",
                    "Everything runs in this page: nothing you type is sent anywhere.",
                ) }</p>
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
