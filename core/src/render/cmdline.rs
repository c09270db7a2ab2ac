//! The part of the kernel command line the request adds (the release adds `init=` and its own parameters).

use crate::model::{Hostname, ImageKind, KernelParam};
use crate::render::overlay::OVERLAY_FILE_NAME;
use crate::{Artifact, Request, ValidRequest};

/// The request's parameters as one line. For netboot this names the overlay initrd (UEFI boots load only named
/// initrds) and passes the host name the way the release's netboot image reads it (`hostname=`).
pub fn request_params(image: ImageKind, hostname: Option<&Hostname>, params: &[KernelParam]) -> String {
    join_params(image, hostname.map(Hostname::as_str), params.iter().map(KernelParam::as_str))
}

/// The same line for a request that is not (yet) valid, as typed: the web form's live byte count, which matters
/// most exactly when validation refuses an over-long line. `None` when the image kind is unknown.
pub fn request_params_unchecked(req: &Request) -> Option<String> {
    let image = crate::validate::parse_image(&req.image).ok()?;
    let hostname = req.hostname.as_deref().filter(|h| !h.is_empty());
    Some(join_params(image, hostname, req.kernel_params.iter().map(String::as_str)))
}

fn join_params<'a>(image: ImageKind, hostname: Option<&str>, params: impl Iterator<Item = &'a str>) -> String {
    let mut words: Vec<String> = Vec::new();
    if image == ImageKind::Netboot {
        words.push(format!("initrd={OVERLAY_FILE_NAME}"));
        if let Some(h) = hostname {
            words.push(format!("hostname={h}"));
        }
    }
    words.extend(params.map(str::to_string));
    words.join(" ")
}

pub fn line(req: &ValidRequest) -> String {
    request_params(req.image, req.hostname.as_ref(), &req.kernel_params)
}

pub fn render(req: &ValidRequest) -> Artifact {
    Artifact::single("cmdline.txt", 0o644, format!("{}\n", line(req)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchecked_line_equals_the_validated_one() {
        for text in [crate::EXAMPLE_REQUEST, include_str!("../../../examples/netboot-static.toml")] {
            let req = Request::parse_toml(text).unwrap();
            assert_eq!(request_params_unchecked(&req).unwrap(), line(&req.validate().unwrap()));
        }
        let bad = Request { image: "floppy".into(), ..Request::default() };
        assert_eq!(request_params_unchecked(&bad), None);
    }
}
