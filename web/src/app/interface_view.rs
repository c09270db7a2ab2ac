//! One interface of the form (match, DHCP, static addresses) and its routes.

use std::rc::Rc;

use yew::prelude::*;

use super::msg::Msg;
use super::widgets::Field;
use super::App;
use crate::form::{field_id, InterfaceForm, ListKind, RouteForm};

const MATCH_BY: &[(&str, &str)] = &[("mac", "MAC address"), ("name", "interface name")];

impl App {
    pub(super) fn view_interface(&self, ctx: &Context<Self>, i: usize, iface: &InterfaceForm) -> Html {
        let link = ctx.link();
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
                    { self.select(ctx, "Match by", &format!("{p}.match_by"), if iface.by_mac { "mac" } else { "name" },
                        MATCH_BY, Rc::new(move |f, v| f.interfaces[i].by_mac = v == "mac")) }
                    { self.field(ctx, matcher, Rc::new(move |f, v| f.interfaces[i].matcher = v)) }
                </div>
                { self.checkbox(ctx, "DHCP and router advertisements", field_id(&format!("{p}.dhcp")), iface.dhcp,
                    Rc::new(move |f, v| f.interfaces[i].dhcp = !v.is_empty())) }
                { self.field(ctx, addresses, Rc::new(move |f, v| f.interfaces[i].addresses = v)) }
                { for iface.routes.iter().enumerate().map(|(j, r)| self.view_route(ctx, i, j, r)) }
                <div class="buttons">
                    <button type="button" id={format!("add-route-{i}")}
                        onclick={link.callback(move |_| Msg::AddRoute(i))}>{ "Add route" }</button>
                    <button type="button" class="danger" id={format!("remove-interface-{i}")}
                        onclick={link.callback(move |_| Msg::RemoveInterface(i))}>
                        { format!("Remove interface {}", i + 1) }
                    </button>
                </div>
            </fieldset>
        }
    }

    fn view_route(&self, ctx: &Context<Self>, i: usize, j: usize, r: &RouteForm) -> Html {
        let p = format!("interfaces[{i}].routes[{j}]");
        let destination = Field::line("Destination", &format!("{p}.destination"), &r.destination)
            .placeholder("default or 10.0.0.0/8");
        let gateway = Field::line("Gateway", &format!("{p}.gateway"), &r.gateway);
        html! {
            <div class="route" role="group" aria-label={format!("Route {}", j + 1)}>
                { self.field(ctx, destination, Rc::new(move |f, v| f.interfaces[i].routes[j].destination = v)) }
                { self.field(ctx, gateway, Rc::new(move |f, v| f.interfaces[i].routes[j].gateway = v)) }
                { self.checkbox(ctx, "on-link", field_id(&format!("{p}.on_link")), r.on_link,
                    Rc::new(move |f, v| f.interfaces[i].routes[j].on_link = !v.is_empty())) }
                <button type="button" class="danger" id={format!("remove-route-{i}-{j}")}
                    aria-label={format!("Remove route {} of interface {}", j + 1, i + 1)}
                    onclick={ctx.link().callback(move |_| Msg::RemoveRoute(i, j))}>{ "Remove" }</button>
            </div>
        }
    }
}
