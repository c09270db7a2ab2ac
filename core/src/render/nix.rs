//! The NixOS module override: a `.nix` file imported next to the installer modules.

use crate::model::{Destination, Interface, InterfaceMatch};
use crate::nix_expr::Expr;
use crate::render::networkd::unit_name;
use crate::{Artifact, ValidRequest};

/// Every NixOS option path this override can set. The image modules (nix/) must accept exactly these;
/// the flake's checks compare against this list.
pub const OPTIONS_SET: &[&str] = &[
    "users.users.root.openssh.authorizedKeys.keys",
    "networking.hostName",
    "networking.nameservers",
    "boot.kernelParams",
    "systemd.network.enable",
    "systemd.network.networks",
];

fn path(p: &str) -> Vec<String> {
    p.split('.').map(str::to_string).collect()
}

/// The module as an expression tree (used by `render` and by tests that evaluate it).
pub fn module(req: &ValidRequest) -> Expr {
    let mut attrs: Vec<(Vec<String>, Expr)> = Vec::new();
    if !req.ssh_authorized_keys.is_empty() {
        attrs.push((
            path(OPTIONS_SET[0]),
            Expr::strings(req.ssh_authorized_keys.iter().map(|k| k.as_str().to_string())),
        ));
    }
    if let Some(h) = &req.hostname {
        // The installer images set their own host name; the request's must win.
        attrs.push((path(OPTIONS_SET[1]), Expr::mk_force(Expr::str(h.as_str()))));
    }
    if !req.nameservers.is_empty() {
        attrs.push((path(OPTIONS_SET[2]), Expr::strings(req.nameservers.iter().map(|n| n.to_string()))));
    }
    if !req.kernel_params.is_empty() {
        attrs.push((path(OPTIONS_SET[3]), Expr::strings(req.kernel_params.iter().map(|p| p.as_str().to_string()))));
    }
    if !req.interfaces.is_empty() {
        attrs.push((path(OPTIONS_SET[4]), Expr::Bool(true)));
        for (i, iface) in req.interfaces.iter().enumerate() {
            let mut p = path(OPTIONS_SET[5]);
            p.push(unit_name(i));
            attrs.push((p, network(req, iface)));
        }
    }
    Expr::Lambda(vec!["lib"], Box::new(Expr::Attrs(attrs)))
}

fn network(req: &ValidRequest, iface: &Interface) -> Expr {
    let yes_no = |b: bool| Expr::str(if b { "yes" } else { "no" });
    let mut attrs = vec![match &iface.matches {
        InterfaceMatch::Mac(m) => (path("matchConfig.MACAddress"), Expr::str(m.to_string())),
        InterfaceMatch::Name(n) => (path("matchConfig.Name"), Expr::str(n.as_str())),
    }];
    attrs.push((path("networkConfig.DHCP"), yes_no(iface.dhcp)));
    attrs.push((path("networkConfig.IPv6AcceptRA"), Expr::Bool(iface.dhcp)));
    if !iface.addresses.is_empty() {
        attrs.push((path("address"), Expr::strings(iface.addresses.iter().map(|a| a.to_string()))));
    }
    if !req.nameservers.is_empty() {
        attrs.push((path("dns"), Expr::strings(req.nameservers.iter().map(|n| n.to_string()))));
    }
    if !iface.routes.is_empty() {
        let flat = req.channel.has_flat_networkd_routes();
        let routes = iface
            .routes
            .iter()
            .map(|r| {
                let mut route = Vec::new();
                if let Destination::Net(net) = &r.destination {
                    route.push((path("Destination"), Expr::str(net.to_string())));
                }
                if let Some(g) = r.gateway {
                    route.push((path("Gateway"), Expr::str(g.to_string())));
                }
                if r.on_link {
                    route.push((path("GatewayOnLink"), Expr::Bool(true)));
                }
                if flat {
                    Expr::Attrs(route)
                } else {
                    // Before NixOS 24.11 route settings sat under `routeConfig`.
                    Expr::Attrs(vec![(path("routeConfig"), Expr::Attrs(route))])
                }
            })
            .collect();
        attrs.push((path("routes"), Expr::List(routes)));
    }
    Expr::Attrs(attrs)
}

pub fn render(req: &ValidRequest) -> Artifact {
    let text = format!(
        "# NixOS module {}.\n# Import it next to the installer modules: imports = [ ./nixos-images-override.nix ];\n{}\n",
        super::generated_by(req),
        module(req).to_nix()
    );
    Artifact::single("nixos-images-override.nix", 0o644, text)
}
