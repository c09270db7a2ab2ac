//! `index.html`: the tree's hosts for people (their MACs, addresses and scripts), served with the tree.

use std::fmt::Write;

use super::tree::{host_dir, mac_file, BOOT_SCRIPT, DEFAULT_DIR, HOST_SCRIPT};
use super::validate::ValidInventory;
use crate::escape::html_text;
use crate::model::BaseUrl;

pub fn html(inv: &ValidInventory, base: Option<&BaseUrl>) -> String {
    let link = |rel: &str| match base {
        Some(b) => b.join(rel).as_str().to_string(),
        None => rel.to_string(),
    };
    let mut rows = String::new();
    for host in inv.hosts() {
        let name = host.name().as_str();
        let macs: Vec<String> = host
            .macs()
            .iter()
            .map(|m| format!("<a href=\"{}\"><code>{m}</code></a>", html_text(&link(&mac_file(m)))))
            .collect();
        let addresses: Vec<String> = host
            .request()
            .interfaces()
            .iter()
            .flat_map(|i| i.addresses.iter().map(|a| format!("<code>{a}</code>")))
            .collect();
        let _ = writeln!(
            rows,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_text(&link(&format!("{}/{HOST_SCRIPT}", host_dir(name)))),
            html_text(name),
            macs.join(" "),
            if addresses.is_empty() { "DHCP".to_string() } else { addresses.join(" ") },
            host.request().ssh_authorized_keys().len(),
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>nixos-images fleet</title></head>\n\
         <body>\n<h1>nixos-images fleet</h1>\n\
         <p>Entry point: <a href=\"{boot}\"><code>{boot}</code></a> (hand it out by DHCP). Machines not listed boot \
         <a href=\"{default}\">the default installer</a>.</p>\n\
         <table>\n<tr><th>host</th><th>MACs</th><th>addresses</th><th>SSH keys</th></tr>\n{rows}</table>\n\
         </body>\n</html>\n",
        boot = html_text(&link(BOOT_SCRIPT)),
        default = html_text(&link(&format!("{DEFAULT_DIR}/{HOST_SCRIPT}"))),
    )
}
