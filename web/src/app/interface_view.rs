//! One interface of the form (match, DHCP, static addresses) and its routes: a component, so a keystroke elsewhere
//! does not build and compare the interfaces again (its properties are the interface's form, its notes and the
//! page's callback, which stays the same).

use std::rc::Rc;

use yew::prelude::*;

use super::msg::Msg;
use super::widgets::{Field, Notes, Widgets};
use super::App;
use crate::form::{field_id, InterfaceForm, ListKind, RouteForm};

const MATCH_BY: &[(&str, &str)] = &[("mac", "MAC address"), ("name", "interface name")];

#[derive(Properties, PartialEq)]
pub struct InterfaceProps {
    pub index: usize,
    pub iface: InterfaceForm,
    /// The notes of this interface's inputs only.
    pub notes: Rc<Notes>,
    pub send: Callback<Msg>,
}

impl App {
    pub(super) fn view_interface(&self, i: usize, iface: &InterfaceForm) -> Html {
        let notes = self.interface_notes.get(i).cloned().unwrap_or_default();
        html! { <InterfaceView index={i} iface={iface.clone()} {notes} send={self.send.clone()} /> }
    }
}

#[function_component]
fn InterfaceView(props: &InterfaceProps) -> Html {
    let w = Widgets { notes: &props.notes, send: &props.send };
    let (i, iface) = (props.index, &props.iface);
    let p = format!("interfaces[{i}]");
    let (match_label, match_placeholder) =
        if iface.by_mac { ("MAC address", "52:54:00:12:34:56") } else { ("Interface name", "eth0") };
    let matcher = Field::line(match_label, &format!("{p}.match"), &iface.matcher).placeholder(match_placeholder);
    let addresses = Field::list("Static addresses", &format!("{p}.addresses"), &iface.addresses, ListKind::Words)
        .hint("CIDR, one per line, e.g. 203.0.113.10/32");
    html! {
        <fieldset class="interface" id={format!("interface-{i}")}>
            <legend>{ format!("Interface {}", i + 1) }</legend>
            <div class="row">
                { w.select("Match by", &format!("{p}.match_by"), if iface.by_mac { "mac" } else { "name" }, MATCH_BY,
                    Rc::new(move |f, v| f.interfaces[i].by_mac = v == "mac")) }
                { w.field(matcher, Rc::new(move |f, v| f.interfaces[i].matcher = v)) }
            </div>
            { w.checkbox("DHCP and router advertisements", field_id(&format!("{p}.dhcp")), iface.dhcp,
                Rc::new(move |f, v| f.interfaces[i].dhcp = !v.is_empty())) }
            { w.field(addresses, Rc::new(move |f, v| f.interfaces[i].addresses = v)) }
            { for iface.routes.iter().enumerate().map(|(j, r)| view_route(w, i, j, r)) }
            <div class="buttons">
                <button type="button" id={format!("add-route-{i}")} onclick={w.click(move || Msg::AddRoute(i))}>
                    { "Add route" }
                </button>
                <button type="button" class="danger" id={format!("remove-interface-{i}")}
                    onclick={w.click(move || Msg::RemoveInterface(i))}>
                    { format!("Remove interface {}", i + 1) }
                </button>
            </div>
        </fieldset>
    }
}

fn view_route(w: Widgets<'_>, i: usize, j: usize, r: &RouteForm) -> Html {
    let p = format!("interfaces[{i}].routes[{j}]");
    let destination =
        Field::line("Destination", &format!("{p}.destination"), &r.destination).placeholder("default or 10.0.0.0/8");
    let gateway = Field::line("Gateway", &format!("{p}.gateway"), &r.gateway);
    html! {
        <div class="route" role="group" aria-label={format!("Route {}", j + 1)}>
            { w.field(destination, Rc::new(move |f, v| f.interfaces[i].routes[j].destination = v)) }
            { w.field(gateway, Rc::new(move |f, v| f.interfaces[i].routes[j].gateway = v)) }
            { w.checkbox("on-link", field_id(&format!("{p}.on_link")), r.on_link,
                Rc::new(move |f, v| f.interfaces[i].routes[j].on_link = !v.is_empty())) }
            <button type="button" class="danger" id={format!("remove-route-{i}-{j}")}
                aria-label={format!("Remove route {} of interface {}", j + 1, i + 1)}
                onclick={w.click(move || Msg::RemoveRoute(i, j))}>{ "Remove" }</button>
        </div>
    }
}
