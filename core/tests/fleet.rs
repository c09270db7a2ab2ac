//! Fleet netboot: the tree of the example inventory (golden snapshots, relative and under a base URL), what
//! validation says about bad inventories (every error, at the inventory's path), and `diff`.

use nixos_images_core::fleet::diff::{diff, Change};
use nixos_images_core::fleet::tree;
use nixos_images_core::fleet::Inventory;
use nixos_images_core::{BaseUrl, RequestFormat};
use test_support::examples;

/// The tree as text: each file's path, and its contents (text files) or its size and digest (the overlays).
fn listing(files: &[nixos_images_core::ArtifactFile]) -> String {
    let mut out = String::new();
    for f in files {
        match std::str::from_utf8(&f.contents) {
            Ok(text) if !f.path.ends_with(".gz") => out.push_str(&format!("==> {} <==\n{text}\n", f.path)),
            _ => out.push_str(&format!("==> {} <== (gzip'd newc cpio)\n{}\n", f.path, cpio_entries(&f.contents))),
        }
    }
    out
}

/// A gzip'd newc archive's entries: mode, size and name, one per line.
fn cpio_entries(gz: &[u8]) -> String {
    use std::io::Read;
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut data).expect("a gzip member");
    let (mut at, mut out) = (0, String::new());
    let field = |h: &[u8], i: usize| {
        usize::from_str_radix(std::str::from_utf8(&h[6 + 8 * i..14 + 8 * i]).unwrap(), 16).unwrap()
    };
    while at + 110 <= data.len() && &data[at..at + 6] == b"070701" {
        let h = &data[at..at + 110];
        let (mode, size, namesize) = (field(h, 1), field(h, 6), field(h, 11));
        let name = std::str::from_utf8(&data[at + 110..at + 110 + namesize - 1]).unwrap();
        if name == "TRAILER!!!" {
            break;
        }
        out.push_str(&format!("{mode:06o} {size:5} {name}\n"));
        at = (at + 110 + namesize).next_multiple_of(4);
        at = (at + size).next_multiple_of(4);
    }
    out
}

#[test]
fn the_example_rack_renders_relative_and_under_a_base_url() {
    let (_, valid) = examples::inventory("rack.toml");
    let relative = tree::render(&valid, None);
    insta::assert_snapshot!("fleet__rack__relative", listing(&relative));
    let base: BaseUrl = "http://boot.example.org/fleet".parse().unwrap();
    let absolute = tree::render(&valid, Some(&base));
    insta::assert_snapshot!("fleet__rack__base-url", listing(&absolute));

    // Every MAC has its file, naming its host's script; the relative tree has no DHCP snippets (they need the URL).
    let paths: Vec<&str> = relative.iter().map(|f| f.path.as_str()).collect();
    for mac in ["52-54-00-10-00-01", "52-54-00-10-00-02", "52-54-00-10-01-02", "52-54-00-10-00-03"] {
        assert!(paths.contains(&format!("mac/{mac}.ipxe").as_str()), "{mac}: {paths:?}");
    }
    assert!(!paths.contains(&"dnsmasq.conf"));
    let kea = absolute.iter().find(|f| f.path == "kea-dhcp4-client-classes.json").expect("Kea's classes");
    let kea: serde_json::Value = serde_json::from_slice(&kea.contents).expect("Kea's file is JSON");
    assert_eq!(kea["client-classes"][0]["boot-file-name"], "http://boot.example.org/fleet/boot.ipxe");
    // A host's own files are what `render ipxe` and `render overlay` make for its request.
    let web2 = valid.hosts().iter().find(|h| h.name().as_str() == "web2").unwrap();
    let overlay = nixos_images_core::render::overlay::render(web2.request()).files.remove(0);
    let in_tree = relative.iter().find(|f| f.path == "hosts/web2/nixos-images-overlay.cpio.gz").unwrap();
    assert_eq!(in_tree.contents, overlay.contents);
    let script = nixos_images_core::render::ipxe::render(web2.request()).files.remove(0);
    assert_eq!(relative.iter().find(|f| f.path == "hosts/web2/netboot.ipxe").unwrap().contents, script.contents);
    assert_eq!(web2.request().ssh_authorized_keys().len(), 2, "the defaults' key and its own");
}

fn errors(text: &str) -> Vec<String> {
    let inv = Inventory::parse(text, RequestFormat::Toml).unwrap_or_else(|e| panic!("{e}"));
    match inv.validate() {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(|f| f.to_string()).collect(),
    }
}

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg ops@team";

#[test]
fn every_error_of_an_inventory_at_its_path() {
    let text = format!(
        "[defaults]\nssh_authorized_keys = [\"{KEY}\"]\n\
         [[hosts]]\nname = \"web1\"\nmacs = [\"52:54:00:00:00:01\"]\n\
         [[hosts.interfaces]]\nmatch_mac = \"52:54:00:00:00:01\"\ndhcp = false\naddresses = [\"192.0.2.11/24\"]\n\
         [[hosts]]\nname = \"WEB1\"\nmacs = [\"52:54:00:00:00:01\", \"52:54:00:00:00:09\", \"52:54:00:00:00:09\"]\n\
         [[hosts]]\nname = \"db1\"\nmacs = []\nssh_authorized_keys = [\"{KEY}\"]\n\
         [[hosts]]\nname = \"db2\"\nmacs = [\"52:54:00:00:00:05\"]\n\
         [[hosts.interfaces]]\nmatch_mac = \"52:54:00:00:00:06\"\ndhcp = false\naddresses = [\"192.0.2.11/24\"]\n\
         [[hosts.interfaces]]\nmatch_mac = \"not-a-mac\"\n\
         [[hosts]]\nname = \"bad_name\"\nmacs = [\"01:00:5e:00:00:01\"]\nkernel_params = [\"init=/bin/sh\"]\n"
    );
    assert_eq!(
        errors(&text),
        [
            "hosts[1].name: `WEB1` is already hosts[0]'s name",
            "hosts[1].macs[2]: 52:54:00:00:00:09 is listed twice",
            "hosts[1].macs[0]: 52:54:00:00:00:01 is already hosts[0]'s (hosts[0].macs[0])",
            "hosts[2].macs: a host needs a MAC (in macs, or an interface's match_mac): boot.ipxe finds machines by MAC",
            "hosts[2].ssh_authorized_keys[0]: already in defaults.ssh_authorized_keys[0]",
            "hosts[3].interfaces[0].addresses[0]: 192.0.2.11 is already hosts[0].interfaces[0].addresses[0]'s",
            "hosts[3].interfaces[1].match_mac: `not-a-mac` is not a MAC address (expected six hex pairs separated by `:`)",
            "hosts[4].macs[0]: 01:00:5e:00:00:01 is a multicast address, not an interface's MAC",
            "hosts[4].name: contains `_`; a host name has only letters, digits and `-` (RFC 1123; no dots: it is one \
             label)",
            "hosts[4].kernel_params[0]: init= and initrd= are set by the image itself",
        ]
        .map(String::from)
    );
}

#[test]
fn the_defaults_are_checked_once_and_must_netboot() {
    let text = "[defaults]\nimage = \"kexec\"\nchannel = \"nixos-99.99\"\n\
                [[hosts]]\nname = \"a\"\nmacs = [\"52:54:00:00:00:01\"]\n\
                [[hosts]]\nname = \"b\"\nmacs = [\"52:54:00:00:00:02\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "the channel's error once, not once per host: {errs:#?}");
    assert!(errs[0].starts_with("defaults.channel: "), "{errs:?}");
    let errs = errors("[defaults]\nimage = \"kexec\"\n[[hosts]]\nname = \"a\"\nmacs = [\"52:54:00:00:00:01\"]\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("defaults.image: must be netboot"), "{errs:?}");
    // Unknown keys are named with their path.
    let err = Inventory::parse("[[hosts]]\nname = \"a\"\nhostname = \"b\"\n", RequestFormat::Toml).unwrap_err();
    assert!(err.to_string().starts_with("hosts[0].hostname: unknown field `hostname`"), "{err}");
    let err = Inventory::parse("{\"defaults\": {\"hostname\": \"x\"}}", RequestFormat::Json).unwrap_err();
    assert!(err.to_string().starts_with("defaults.hostname: unknown field `hostname`"), "{err}");
}

#[test]
fn diff_names_the_hosts_that_boot_differently() {
    let (inv, old) = examples::inventory("rack.toml");
    assert_eq!(diff(&old, &old), vec![]);
    let mut next = inv.clone();
    next.hosts[0].interfaces[0].addresses = vec!["192.0.2.21/24".into()];
    next.hosts[1].macs.pop();
    next.hosts.remove(2);
    next.hosts.push(nixos_images_core::fleet::HostEntry {
        name: "db2".into(),
        macs: vec!["52:54:00:10:00:04".into()],
        ..Default::default()
    });
    let changes: Vec<String> = diff(&old, &next.validate().unwrap()).iter().map(Change::to_string).collect();
    assert_eq!(
        changes,
        [
            "removed db1",
            "added db2",
            "changed web1 (netboot.ipxe, nixos-images-overlay.cpio.gz)",
            "changed web2 (MACs)"
        ]
    );
    let mut keys = inv.clone();
    keys.defaults.kernel_params.push("quiet".into());
    let changes: Vec<String> = diff(&old, &keys.validate().unwrap()).iter().map(Change::to_string).collect();
    assert_eq!(changes.len(), 4, "the default and every host: {changes:?}");
    assert_eq!(changes[0], "changed default (netboot.ipxe)");
}
