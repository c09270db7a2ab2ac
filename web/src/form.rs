//! The form's state: the request as the person types it (lists as text, one entry per line or word), and the way
//! back and forth to core's [`Request`]. Validation and rendering are core's; this module only maps field paths
//! to the form's inputs.

use nixos_images_core::effects::Notice;
use nixos_images_core::field::Segment;
use nixos_images_core::request::{InterfaceRequest, KexecRequest, ReleaseRequest, RouteRequest};
use nixos_images_core::validate::{
    MAX_KEXEC_DELAY_SECONDS, MAX_PANIC_REBOOT_SECONDS, MAX_ROLLBACK_MINUTES, MIN_KEXEC_DELAY_SECONDS,
};
use nixos_images_core::{FieldError, FieldPath, Installer, Request};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub image: String,
    pub arch: String,
    pub channel: String,
    pub base_url: String,
    pub tag: String,
    pub sha256: String,
    /// `upstream` or `nixos-images` (core's `Installer`).
    pub installer: String,
    pub strict: bool,
    pub hostname: String,
    /// One key per line.
    pub keys: String,
    /// Separated by blanks or newlines (a parameter has no blanks).
    pub kernel_params: String,
    pub nameservers: String,
    pub interfaces: Vec<InterfaceForm>,
    pub delay: String,
    pub extra_flags: String,
    pub panic_reboot: String,
    pub rollback: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceForm {
    pub by_mac: bool,
    pub matcher: String,
    pub dhcp: bool,
    /// Separated by blanks or newlines.
    pub addresses: String,
    pub routes: Vec<RouteForm>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteForm {
    pub destination: String,
    pub gateway: String,
    pub on_link: bool,
}

impl Default for InterfaceForm {
    fn default() -> Self {
        InterfaceForm { by_mac: true, matcher: String::new(), dhcp: true, addresses: String::new(), routes: vec![] }
    }
}

impl Default for Form {
    fn default() -> Self {
        Form::from_request(&Request::default())
    }
}

/// The entries of a list field and the 1-based line each came from.
pub fn lines(text: &str) -> Vec<(usize, String)> {
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l.to_string())).collect()
}

/// The entries of a blank-separated list field.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl Form {
    pub fn from_request(req: &Request) -> Form {
        Form {
            image: req.image.clone(),
            arch: req.arch.clone(),
            channel: req.channel.clone(),
            base_url: req.release.base_url.clone().unwrap_or_default(),
            tag: req.release.tag.clone().unwrap_or_default(),
            sha256: req.release.kexec_tarball_sha256.clone().unwrap_or_default(),
            installer: req.release.installer.clone().unwrap_or_else(|| Installer::default().as_str().into()),
            strict: req.strict,
            hostname: req.hostname.clone().unwrap_or_default(),
            keys: req.ssh_authorized_keys.join("\n"),
            kernel_params: req.kernel_params.join(" "),
            nameservers: req.nameservers.join("\n"),
            interfaces: req
                .interfaces
                .iter()
                .map(|i| InterfaceForm {
                    by_mac: i.match_name.is_none(),
                    matcher: i.match_mac.clone().or_else(|| i.match_name.clone()).unwrap_or_default(),
                    dhcp: i.dhcp,
                    addresses: i.addresses.join("\n"),
                    routes: i
                        .routes
                        .iter()
                        .map(|r| RouteForm {
                            destination: r.destination.clone(),
                            gateway: r.gateway.clone().unwrap_or_default(),
                            on_link: r.on_link,
                        })
                        .collect(),
                })
                .collect(),
            delay: req.kexec.delay_seconds.to_string(),
            extra_flags: req.kexec.extra_flags.join(" "),
            panic_reboot: req.kexec.panic_reboot_seconds.to_string(),
            rollback: req.kexec.rollback_minutes.to_string(),
        }
    }

    /// The request the form describes, and the errors only the form can find (a delay that is not a number).
    /// Empty optional fields are left out; an empty interface match is kept so core names the field.
    pub fn to_request(&self) -> (Request, Vec<FieldError>) {
        let mut local = Vec::new();
        let defaults = KexecRequest::default();
        let delay_seconds = whole_number(
            &self.delay,
            defaults.delay_seconds,
            "delay_seconds",
            &format!("a whole number of seconds ({MIN_KEXEC_DELAY_SECONDS} to {MAX_KEXEC_DELAY_SECONDS})"),
            &mut local,
        );
        let panic_reboot_seconds = whole_number(
            &self.panic_reboot,
            defaults.panic_reboot_seconds,
            "panic_reboot_seconds",
            &format!("a whole number of seconds (0: no reboot, at most {MAX_PANIC_REBOOT_SECONDS})"),
            &mut local,
        );
        let rollback_minutes = whole_number(
            &self.rollback,
            defaults.rollback_minutes,
            "rollback_minutes",
            &format!("a whole number of minutes (0: off, at most {MAX_ROLLBACK_MINUTES})"),
            &mut local,
        );
        let req = Request {
            image: self.image.clone(),
            arch: self.arch.clone(),
            channel: self.channel.trim().to_string(),
            hostname: opt(&self.hostname),
            ssh_authorized_keys: lines(&self.keys).into_iter().map(|(_, l)| l.trim().to_string()).collect(),
            kernel_params: words(&self.kernel_params),
            nameservers: words(&self.nameservers),
            release: ReleaseRequest {
                base_url: opt(&self.base_url),
                tag: opt(&self.tag),
                kexec_tarball_sha256: opt(&self.sha256),
                // The default is left out, so a request file round-trips unchanged.
                installer: Some(self.installer.clone()).filter(|i| *i != Installer::default().as_str()),
            },
            interfaces: self
                .interfaces
                .iter()
                .map(|i| {
                    let matcher = i.matcher.trim().to_string();
                    InterfaceRequest {
                        match_mac: i.by_mac.then(|| matcher.clone()),
                        match_name: (!i.by_mac).then_some(matcher),
                        dhcp: i.dhcp,
                        addresses: words(&i.addresses),
                        routes: i
                            .routes
                            .iter()
                            .map(|r| RouteRequest {
                                destination: r.destination.trim().to_string(),
                                gateway: opt(&r.gateway),
                                on_link: r.on_link,
                            })
                            .collect(),
                    }
                })
                .collect(),
            kexec: KexecRequest {
                delay_seconds,
                extra_flags: words(&self.extra_flags),
                panic_reboot_seconds,
                rollback_minutes,
            },
            strict: self.strict,
        };
        (req, local)
    }
}

/// How an entry of a list field is named in its message: `line 3` for keys, `` `quiet` `` for words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Lines,
    Words,
}

/// The messages for one input of the form (by DOM id, see [`input_for`]). Entries of a list field
/// (`kernel_params[2]`) are labelled by line or word so the person finds the entry.
pub fn messages_for_input(errors: &[FieldError], id: &str, list: Option<(ListKind, &str)>) -> Vec<String> {
    let entries: Vec<String> = match list {
        Some((ListKind::Lines, text)) => lines(text).into_iter().map(|(n, _)| format!("line {n}")).collect(),
        Some((ListKind::Words, text)) => words(text).into_iter().map(|w| format!("`{}`", printable(&w))).collect(),
        None => vec![],
    };
    errors
        .iter()
        .filter(|e| input_for(&e.path) == id)
        .map(|e| {
            let index = match e.path.segments().last() {
                Some(Segment::Index(i)) => Some(*i),
                _ => None,
            };
            match (list, index.and_then(|i| entries.get(i))) {
                (Some(_), Some(label)) => format!("{label}: {}", e.message),
                _ => e.message.clone(),
            }
        })
        .collect()
}

/// The notices (fields the installer ignores or applies only in part) shown at one input of the form.
pub fn notices_for_input<'a>(notices: &'a [Notice], id: &'a str) -> impl Iterator<Item = &'a Notice> + 'a {
    notices.iter().filter(move |n| input_for(&n.path) == id)
}

/// A short, safe label for a word (private keys never reach here: keys are labelled by line).
fn printable(s: &str) -> String {
    nixos_images_core::escape::printable(s, 40)
}

/// A DOM id for a field path: `interfaces[0].routes[1].gateway` -> `f-interfaces-0-routes-1-gateway`.
pub fn field_id(path: &str) -> String {
    let mut id = String::from("f-");
    for c in path.chars() {
        match c {
            '[' | '.' => id.push('-'),
            ']' => {}
            c => id.push(c),
        }
    }
    id
}

/// A `kexec.<key>` number of seconds as typed: empty is the default; what is not a whole number is the form's own
/// error (core's range check names the limit for numbers out of range).
fn whole_number(text: &str, default: u32, key: &'static str, expected: &str, errors: &mut Vec<FieldError>) -> u32 {
    match text.trim() {
        "" => default,
        t => t.parse::<u32>().unwrap_or_else(|_| {
            let path = FieldPath::field("kexec").key(key);
            errors.push(FieldError::new(path, format!("must be {expected}")));
            default
        }),
    }
}

/// The id of the input that shows a path's error (an error on `interfaces[0]` itself is shown at its match,
/// an entry's error at its list, a route's cross-field error at its gateway).
pub fn input_for(path: &FieldPath) -> String {
    // The list fields are one input each (a text area or a line of words); interfaces and routes are rows.
    const LISTS: [&str; 5] = ["ssh_authorized_keys", "kernel_params", "nameservers", "addresses", "extra_flags"];
    if path.is_root() {
        return field_id(&path.to_string());
    }
    let mut words: Vec<String> = Vec::new();
    let mut segments = path.segments().iter().peekable();
    while let Some(segment) = segments.next() {
        match segment {
            Segment::Key(k) if k == "match_mac" || k == "match_name" => words.push("match".into()),
            Segment::Key(k) => {
                words.push(k.to_string());
                if LISTS.contains(&k.as_ref()) {
                    break;
                }
            }
            Segment::Index(i) => {
                words.push(i.to_string());
                let is_interface_row = words.len() == 2 && words[0] == "interfaces";
                if is_interface_row && segments.peek().is_none() {
                    words.push("match".into());
                }
            }
        }
    }
    format!("f-{}", words.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nixos_images_core::{RequestFormat, EXAMPLE_REQUEST};

    #[test]
    fn example_round_trips_through_the_form() {
        let req = Request::parse(EXAMPLE_REQUEST, RequestFormat::Toml).unwrap();
        let (back, local) = Form::from_request(&req).to_request();
        assert!(local.is_empty());
        assert_eq!(back, req);
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let req = Request::parse(&text, RequestFormat::Toml).unwrap();
            assert_eq!(Form::from_request(&req).to_request().0, req);
        }
    }

    #[test]
    fn default_form_is_valid() {
        let (req, local) = Form::default().to_request();
        assert!(local.is_empty());
        req.validate().unwrap();
    }

    #[test]
    fn entry_errors_are_labelled_by_line_and_word() {
        let form = Form {
            keys: "\nssh-ed25519 nope\n".into(),
            kernel_params: "quiet bad\"x".into(),
            delay: "soon".into(),
            ..Form::default()
        };
        let (req, local) = form.to_request();
        let mut errors = req.validate().unwrap_err().0;
        errors.extend(local);
        let keys = messages_for_input(&errors, "f-ssh_authorized_keys", Some((ListKind::Lines, &form.keys)));
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with("line 2: "), "{keys:?}");
        let params = messages_for_input(&errors, "f-kernel_params", Some((ListKind::Words, &form.kernel_params)));
        assert!(params[0].starts_with("`bad\"x`: "), "{params:?}");
        assert_eq!(messages_for_input(&errors, "f-kexec-delay_seconds", None).len(), 1);
        let interface = |i| FieldPath::field("interfaces").index(i);
        assert_eq!(input_for(&FieldPath::field("ssh_authorized_keys").index(0)), "f-ssh_authorized_keys");
        assert_eq!(input_for(&interface(1)), "f-interfaces-1-match");
        assert_eq!(input_for(&interface(1).key("match_mac")), "f-interfaces-1-match");
        assert_eq!(input_for(&interface(0).key("addresses").index(3)), "f-interfaces-0-addresses");
        let gateway = interface(0).key("routes").index(1).key("gateway");
        assert_eq!(input_for(&gateway), "f-interfaces-0-routes-1-gateway");
        assert_eq!(input_for(&gateway), field_id(&gateway.to_string()));
        assert_eq!(input_for(&FieldPath::root()), "f-request");
    }

    #[test]
    fn notices_are_shown_at_their_field() {
        let text = include_str!("../../examples/netboot-static.toml");
        let form = Form::from_request(&Request::parse(text, RequestFormat::Toml).unwrap());
        let notices = nixos_images_core::effects::notices(&form.to_request().0.validate().unwrap());
        assert_eq!(notices_for_input(&notices, "f-ssh_authorized_keys").count(), 1);
        assert_eq!(notices_for_input(&notices, "f-interfaces-0-addresses").count(), 1);
        let strict = Form { strict: true, ..form.clone() };
        let errors = strict.to_request().0.validate().unwrap_err().0;
        assert!(errors.iter().any(|e| e.path == "ssh_authorized_keys"), "{errors:?}");
        let ours = Form { installer: "nixos-images".into(), ..form };
        assert!(nixos_images_core::effects::notices(&ours.to_request().0.validate().unwrap()).is_empty());
    }
}
