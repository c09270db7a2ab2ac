//! The rendered NixOS module and the Nix string escaper, checked against the real Nix evaluator.
//!
//! Every module is parsed and evaluated by `nix-instantiate` with a stub `lib` (`mkForce = x: { __force = x; }`),
//! and the JSON it evaluates to is compared with values built here from the `ValidRequest`, so a renderer that
//! drops, reorders or alters a value (or an escaper that lets Nix interpret `${`, `\` or `"`) fails.
//!
//! Nix never reaches the network or the machine's store: `NIX_CONFIG` empties the substituters, the store is
//! `dummy://`, and state and home directories point into a temporary directory. A missing `nix-instantiate`
//! fails the tests (it is never skipped).

use test_support::examples;
use test_support::nix::{path_str, Nix};

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use nixos_images_core::escape::{NixAttrName, NixString};
use nixos_images_core::render::nix::{render, OPTIONS_SET};
use nixos_images_core::{Channel, Destination, InterfaceMatch, Request, ValidRequest};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

/// The stub `lib` the module is applied to: `lib.mkForce x` becomes `{ __force = x; }` in the JSON.
const STUB_LIB: &str = "{ mkForce = x: { __force = x; }; }";

/// Sets `root.a.b.c = value`, creating the intermediate attribute sets.
fn set(root: &mut Map<String, Value>, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("a non-empty path");
    let mut node = root;
    for seg in parents {
        node = node
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("an attribute set on the path");
    }
    assert!(node.insert(last.to_string(), value).is_none(), "expected module sets {path:?} twice");
}

/// NixOS 24.11 moved networkd route settings out of `routeConfig`; written here independently of core.
fn flat_routes(channel: Channel) -> bool {
    match channel {
        Channel::Unstable => true,
        Channel::Release { year, month } => year > 24 || (year == 24 && month >= 11),
    }
}

/// What the module must evaluate to, built from the request (not from the renderer's output).
fn expected_module(raw: &Request, req: &ValidRequest) -> Value {
    let mut m = Map::new();
    // Key lines exactly as written (only surrounding blanks removed), in order.
    assert_eq!(raw.ssh_authorized_keys.len(), req.ssh_authorized_keys().len());
    for (r, k) in raw.ssh_authorized_keys.iter().zip(req.ssh_authorized_keys()) {
        assert_eq!(r.trim_matches([' ', '\t']), k.as_str(), "validation altered a key line");
    }
    let keys: Vec<&str> = req.ssh_authorized_keys().iter().map(|k| k.as_str()).collect();
    if !keys.is_empty() {
        set(&mut m, &["users", "users", "root", "openssh", "authorizedKeys", "keys"], json!(keys));
    }
    if let Some(h) = &req.hostname() {
        assert_eq!(raw.hostname.as_deref(), Some(h.as_str()));
        set(&mut m, &["networking", "hostName"], json!({ "__force": h.as_str() }));
    }
    let nameservers: Vec<String> = req.nameservers().iter().map(|n| n.to_string()).collect();
    if !nameservers.is_empty() {
        set(&mut m, &["networking", "nameservers"], json!(nameservers));
    }
    let params: Vec<&str> = req.kernel_params().iter().map(|p| p.as_str()).collect();
    assert_eq!(raw.kernel_params, params, "validation altered a kernel parameter");
    if !params.is_empty() {
        set(&mut m, &["boot", "kernelParams"], json!(params));
    }
    if !req.interfaces().is_empty() {
        set(&mut m, &["systemd", "network", "enable"], json!(true));
    }
    for (i, iface) in req.interfaces().iter().enumerate() {
        let mut net = Map::new();
        match &iface.matches {
            InterfaceMatch::Mac(mac) => {
                let b = mac.0;
                let text = format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
                assert_eq!(
                    raw.interfaces[i].match_mac.as_deref().map(str::to_ascii_lowercase).as_deref(),
                    Some(text.as_str())
                );
                set(&mut net, &["matchConfig", "MACAddress"], json!(text));
            }
            InterfaceMatch::Name(n) => set(&mut net, &["matchConfig", "Name"], json!(n.as_str())),
        }
        set(&mut net, &["networkConfig", "DHCP"], json!(if iface.dhcp { "yes" } else { "no" }));
        set(&mut net, &["networkConfig", "IPv6AcceptRA"], json!(iface.dhcp));
        let addresses: Vec<String> = iface.addresses.iter().map(|a| a.to_string()).collect();
        if !addresses.is_empty() {
            set(&mut net, &["address"], json!(addresses));
        }
        if !nameservers.is_empty() {
            set(&mut net, &["dns"], json!(nameservers));
        }
        let routes: Vec<Value> = iface
            .routes
            .iter()
            .map(|r| {
                let mut route = Map::new();
                if let Destination::Net(n) = &r.destination {
                    route.insert("Destination".into(), json!(n.to_string()));
                }
                if let Some(g) = r.gateway {
                    route.insert("Gateway".into(), json!(g.to_string()));
                }
                if r.on_link {
                    route.insert("GatewayOnLink".into(), json!(true));
                }
                if flat_routes(req.channel()) {
                    Value::Object(route)
                } else {
                    json!({ "routeConfig": route })
                }
            })
            .collect();
        if !routes.is_empty() {
            set(&mut net, &["routes"], json!(routes));
        }
        let unit = format!("00-00-nixos-images-{i:03}");
        set(&mut m, &["systemd", "network", "networks", &unit], Value::Object(net));
    }
    Value::Object(m)
}

/// The `OPTIONS_SET` entry each leaf of the evaluated module lies under; an error names a leaf outside all.
fn options_used(module: &Value) -> Result<BTreeSet<&'static str>, String> {
    fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, v) in o {
                    path.push(k.clone());
                    leaves(v, path, out);
                    path.pop();
                }
            }
            _ => out.push(path.clone()),
        }
    }
    let mut all = Vec::new();
    leaves(module, &mut Vec::new(), &mut all);
    let mut used = BTreeSet::new();
    for leaf in all {
        let option = OPTIONS_SET.iter().copied().find(|o| {
            let segs: Vec<&str> = o.split('.').collect();
            leaf.len() >= segs.len() && leaf.iter().zip(&segs).all(|(a, b)| a == b)
        });
        match option {
            Some(o) => {
                used.insert(o);
            }
            None => return Err(format!("the module sets {} which is not under any OPTIONS_SET entry", leaf.join("."))),
        }
    }
    Ok(used)
}

fn apply_stub(file: &Path) -> String {
    format!("import {} {{ lib = {STUB_LIB}; }}", path_str(file))
}

#[test]
fn examples_evaluate_to_the_requested_values() {
    let Some(nix) = Nix::new() else { return };
    let mut flat_seen = false;
    let mut nested_seen = false;
    for (name, raw, req) in examples::all() {
        let text = render(&req).text();
        let file = nix.write(&name.replace(".toml", ".nix"), &text);
        if let Err(e) = nix.parse(&file) {
            panic!("{name}: the rendered module does not parse:\n{e}\n--- module ---\n{text}");
        }
        let got = nix
            .eval_json(&apply_stub(&file))
            .unwrap_or_else(|e| panic!("{name}: the rendered module does not evaluate:\n{e}\n--- module ---\n{text}"));
        let want = expected_module(&raw, &req);
        assert_eq!(
            got,
            want,
            "{name}: the module evaluates to other values than the request holds\n--- module ---\n{text}\n--- got ---\n{}\n--- want ---\n{}",
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&want).unwrap()
        );
        options_used(&got).unwrap_or_else(|e| panic!("{name}: {e}"));
        if req.interfaces().iter().any(|i| !i.routes.is_empty()) {
            if flat_routes(req.channel()) {
                flat_seen = true;
            } else {
                nested_seen = true;
            }
        }
    }
    assert!(flat_seen && nested_seen, "the examples should cover both networkd route layouts");
}

// ---- generated requests ------------------------------------------------------------------------------------

/// Pieces that are special somewhere: Nix `"`/`''` strings, shells, authorized_keys, TOML, JSON.
const TRICKY: &[&str] = &[
    "\"",
    "\\",
    "${",
    "$",
    "''",
    "'",
    "`",
    "''${",
    "$${",
    "\\${",
    "''\\",
    "'''",
    "{",
    "}",
    "$(id)",
    "#",
    ";",
    " ",
    "\t",
    "\\n",
    "\\\"",
    "é",
    "Ünïcødé",
    "鍵",
    "🔑",
    "\u{2028}",
    "\u{feff}",
    "\u{202e}",
    "\u{fffd}",
];

/// Printable text: the tricky pieces above mixed with arbitrary Unicode without control characters (tab
/// aside, which authorized_keys lines may contain).
fn comment() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => prop::sample::select(TRICKY).prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| s.chars().filter(|c| !c.is_control()).collect::<String>()),
    ];
    prop::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

/// `[options ]keytype blob` prefixes from the examples (the keys there are real public keys).
fn key_prefixes(examples: &[(String, Request, ValidRequest)]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for (_, _, req) in examples {
        for k in req.ssh_authorized_keys() {
            let line = k.as_str();
            let rest = match k.options() {
                Some(o) => line[o.len()..].trim_start_matches([' ', '\t']),
                None => line,
            };
            let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
            let blob = format!("{} {}", fields.next().unwrap(), fields.next().unwrap());
            out.insert(blob.clone());
            if let Some(o) = k.options() {
                out.insert(format!("{o} {blob}"));
            }
        }
    }
    out.into_iter().collect()
}

fn generated_request(examples: &[(String, Request, ValidRequest)]) -> impl Strategy<Value = Request> {
    let bases: Vec<Request> = examples.iter().map(|(_, r, _)| r.clone()).collect();
    let key = (prop::sample::select(key_prefixes(examples)), comment())
        .prop_map(|(prefix, comment)| format!("{prefix} {comment}"));
    let hostname = prop::option::of(prop::string::string_regex("[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?").unwrap());
    let param = prop::string::string_regex("[!#-~]{1,24}")
        .unwrap()
        .prop_filter("validation rejects ${, init= and initrd=", |p| {
            !p.contains("${") && !p.starts_with("init=") && !p.starts_with("initrd=")
        });
    (prop::sample::select(bases), prop::collection::vec(key, 1..5), hostname, prop::collection::vec(param, 0..5))
        .prop_map(|(mut base, keys, hostname, params)| {
            base.ssh_authorized_keys = keys;
            base.hostname = hostname;
            base.kernel_params = params;
            base
        })
}

const BATCH: usize = 64;

#[test]
fn generated_requests_evaluate_to_the_requested_values() {
    let examples = examples::all();
    let Some(nix) = Nix::new() else { return };
    let mut runner =
        TestRunner::new(Config { cases: 32, max_shrink_iters: 256, failure_persistence: None, ..Config::default() });
    let strategy = prop::collection::vec(generated_request(&examples), BATCH);
    let evaluated = std::cell::Cell::new(0usize);
    let result = runner.run(&strategy, |requests| {
        let valid: Vec<(Request, ValidRequest)> =
            requests.into_iter().filter_map(|r| r.validate().ok().map(|v| (r, v))).collect();
        evaluated.set(evaluated.get() + valid.len());
        prop_assert!(
            valid.len() * 4 >= BATCH * 3,
            "validation rejected {} of {BATCH} generated requests; the generator is off",
            BATCH - valid.len()
        );
        // One file: a list of every module applied to the stub lib, evaluated by one nix-instantiate call.
        let mut text = format!("let lib = {STUB_LIB}; in [\n");
        for (_, req) in &valid {
            write!(text, "((\n{}\n) {{ inherit lib; }})\n", render(req).text()).unwrap();
        }
        text.push_str("]\n");
        let file = nix.write("batch.nix", &text);
        let got = nix
            .eval_json(&format!("import {}", path_str(&file)))
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- file ---\n{text}")))?;
        let got = got.as_array().expect("a list").clone();
        prop_assert_eq!(got.len(), valid.len());
        for (g, (raw, req)) in got.iter().zip(&valid) {
            let want = expected_module(raw, req);
            prop_assert_eq!(
                g,
                &want,
                "the module evaluates to other values than the request holds\n--- module ---\n{}",
                render(req).text()
            );
            options_used(g).map_err(TestCaseError::fail)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("evaluated {} generated requests", evaluated.get());
}

// ---- the escaper on its own --------------------------------------------------------------------------------

/// Arbitrary strings without NUL (which a Nix string cannot hold), rich in what Nix's lexer treats specially.
fn nix_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => prop::sample::select(&[
            "\"", "\\", "${", "$${", "''${", "$", "$$", "''", "'", "{", "}", "\n", "\r", "\t", "\r\n", "\\$",
            "\\${", "\\\\", "$\\", "$\"", "${}", "é", "鍵", "🔑", "\u{2028}",
        ][..])
        .prop_map(str::to_string),
        2 => any::<String>(),
        1 => any::<char>().prop_filter("no NUL", |c| *c != '\0').prop_map(String::from),
    ];
    prop::collection::vec(token, 0..12).prop_map(|t| t.concat())
}

/// Writes the strings as Nix string literals and as attribute names (`builtins.attrNames { NAME = null; }`),
/// evaluates both lists with one `nix-instantiate` call each and compares them with the originals.
fn check_nix_strings(nix: &Nix, strings: &[String]) -> Result<(), String> {
    let mut literals = String::from("[\n");
    let mut names = String::from("[\n");
    for s in strings {
        writeln!(literals, "  {}", NixString(s)).unwrap();
        writeln!(names, "  (builtins.head (builtins.attrNames {{ {} = null; }}))", NixAttrName(s)).unwrap();
    }
    literals.push_str("]\n");
    names.push_str("]\n");
    for (what, source) in [("string literal", &literals), ("attribute name", &names)] {
        let file = nix.write("strings.nix", source);
        let got = nix
            .eval_json(&format!("import {}", path_str(&file)))
            .map_err(|e| format!("{what}s: {e}\n--- file ---\n{source}"))?;
        let got: Vec<String> =
            serde_json::from_value(got).map_err(|e| format!("{what}s: not a list of strings: {e}"))?;
        if got.len() != strings.len() {
            return Err(format!("{what}s: {} in, {} out", strings.len(), got.len()));
        }
        for (g, s) in got.iter().zip(strings) {
            if g != s {
                let written =
                    if what == "string literal" { NixString(s).to_string() } else { NixAttrName(s).to_string() };
                return Err(format!("{what} {s:?} written as {written} came back as {g:?}"));
            }
        }
    }
    Ok(())
}

/// Hand-picked strings first: Nix keywords, identifier edge cases and every `$`/`{`/`\`/`''` combination.
#[test]
fn known_tricky_nix_strings_round_trip() {
    let Some(nix) = Nix::new() else { return };
    let strings: Vec<String> = [
        "",
        " ",
        "a",
        "_",
        "__curPos",
        "a'",
        "'a",
        "a-b",
        "-a",
        "1a",
        "a.b",
        "a b",
        "true",
        "null",
        "import",
        "builtins",
        "if",
        "then",
        "else",
        "assert",
        "with",
        "let",
        "in",
        "rec",
        "inherit",
        "or",
        "\"",
        "\\",
        "\\\\",
        "$",
        "$$",
        "$$$",
        "{",
        "}",
        "${",
        "${}",
        "${x}",
        "$${x}",
        "$$${x}",
        "''${x}",
        "\\${x}",
        "\\$",
        "$\\",
        "x$",
        "$\"",
        "''",
        "'''",
        "''\\n",
        "\n",
        "\r",
        "\t",
        "\r\n",
        "\\n",
        "a\u{7f}b",
        "\u{1}",
        "\u{1b}[0m",
        "é",
        "鍵",
        "🔑",
        "\u{2028}",
        "\u{feff}",
        "/* x */",
        "# x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Err(e) = check_nix_strings(&nix, &strings) {
        panic!("{e}");
    }
}

#[test]
fn arbitrary_nix_strings_round_trip() {
    let Some(nix) = Nix::new() else { return };
    let mut runner =
        TestRunner::new(Config { cases: 48, max_shrink_iters: 512, failure_persistence: None, ..Config::default() });
    let result = runner.run(&prop::collection::vec(nix_text(), 128), |strings| {
        check_nix_strings(&nix, &strings).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
