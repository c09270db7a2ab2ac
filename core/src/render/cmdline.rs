//! The part of the kernel command line the request adds (the release adds `init=` and its own parameters).

use crate::model::{Hostname, ImageKind, KernelParam};
use crate::render::overlay::OVERLAY_FILE_NAME;
use crate::{Artifact, ValidRequest};

/// The request's parameters as one line. For netboot this names the overlay initrd (UEFI boots load only named
/// initrds) and passes the host name the way the release's netboot image reads it (`hostname=`).
pub fn request_params(image: ImageKind, hostname: Option<&Hostname>, params: &[KernelParam]) -> String {
    let mut words: Vec<String> = Vec::new();
    if image == ImageKind::Netboot {
        words.push(format!("initrd={OVERLAY_FILE_NAME}"));
        if let Some(h) = hostname {
            words.push(format!("hostname={}", h.as_str()));
        }
    }
    words.extend(params.iter().map(|p| p.as_str().to_string()));
    words.join(" ")
}

pub fn line(req: &ValidRequest) -> String {
    request_params(req.image, req.hostname.as_ref(), &req.kernel_params)
}

pub fn render(req: &ValidRequest) -> Artifact {
    Artifact::single("cmdline.txt", 0o644, format!("{}\n", line(req)))
}
