//! `serve DIR`: a static HTTP server for trying a netboot tree (boot.ipxe, per-host scripts, overlays, index.html)
//! with iPXE clients and browsers. tiny_http speaks HTTP; this file decides what each request gets and logs it;
//! `resolve` decides which file, if any, a path names.

mod resolve;

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use anyhow::{anyhow, Context, Result};
use nixos_images_core::escape::printable;
use tiny_http::{Header, Method, Request, Response, StatusCode};

use crate::cli::ServeArgs;
use crate::errors::UsageError;

/// Longest request target the access log shows (a client chooses it).
const LOG_TARGET_CHARS: usize = 300;

pub fn run(args: &ServeArgs) -> Result<()> {
    let root = Arc::new(served_root(&args.dir)?);
    // Bound here rather than by tiny_http, so the error is the system's and port 0 tells its real port.
    let listener = TcpListener::bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let server =
        tiny_http::Server::from_listener(listener, None).map_err(|e| anyhow!(e)).context("starting the HTTP server")?;
    eprintln!("serving {} at http://{addr}/ (Ctrl-C stops)", args.dir.display());
    if let Some(warning) = exposure_warning(addr, &args.dir) {
        eprintln!("{warning}");
    }
    loop {
        // tiny_http stops accepting after its first accept error (too many open files, say): exit and say so
        // rather than wait for requests that can no longer come.
        let request = server.recv().context("accepting connections")?;
        let root = Arc::clone(&root);
        // A thread per request: a slow client's download never holds up another machine's boot.
        if let Err(err) = thread::Builder::new().spawn(move || respond(&root, request)) {
            // The request went with the closure; tiny_http answers a dropped request with 500.
            eprintln!("error: no thread for a request: {err}");
        }
    }
}

/// DIR's canonical path, which every request's file must lie below.
fn served_root(dir: &Path) -> Result<PathBuf> {
    let root = dir.canonicalize().map_err(|e| UsageError(vec![format!("DIR: {}: {e}", dir.display())]))?;
    if !root.is_dir() {
        return Err(UsageError(vec![format!("DIR: {} is not a directory", dir.display())]).into());
    }
    Ok(root)
}

/// Loopback is the default; any other address was asked for, but the person should know what it means.
fn exposure_warning(addr: SocketAddr, dir: &Path) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: {addr} is not a loopback address: every file in {} is reachable from the network",
            dir.display()
        )
    })
}

/// What a request gets: a file, or a status with an empty body.
enum Answer {
    File { file: File, len: u64, content_type: &'static str },
    Status(u16),
}

fn answer(root: &Path, method: &Method, target: &str) -> Answer {
    if !matches!(method, Method::Get | Method::Head) {
        return Answer::Status(405);
    }
    let found = match resolve::resolve(root, target) {
        Ok(found) => found,
        Err(refusal) => return Answer::Status(refusal.status()),
    };
    let opened = File::open(&found.file).and_then(|file| Ok((file.metadata()?.len(), file)));
    match opened {
        Ok((len, file)) => Answer::File { file, len, content_type: content_type(&found.named) },
        // Changed since it was resolved, or unreadable by this user.
        Err(err) if err.kind() == io::ErrorKind::NotFound => Answer::Status(404),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => Answer::Status(403),
        Err(_) => Answer::Status(500),
    }
}

fn content_type(named: &Path) -> &'static str {
    let ext = named.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "ipxe" | "conf" | "txt" => "text/plain; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "gz" => "application/gzip",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Answers and writes the access log line: `<peer ip> <METHOD> <target as requested> <status> <body bytes>`.
fn respond(root: &Path, request: Request) {
    let peer = request.remote_addr().map_or_else(|| "-".to_string(), |a| a.ip().to_string());
    let method = request.method().clone();
    let target = printable(request.url(), LOG_TARGET_CHARS);
    let (status, body_bytes, sent) = match answer(root, &method, request.url()) {
        Answer::File { file, len, content_type } => {
            let body_bytes = if method == Method::Head { 0 } else { len };
            (200, body_bytes, request.respond(file_response(file, len, content_type)))
        }
        Answer::Status(status) => {
            let mut response = Response::empty(status);
            if status == 405 {
                response.add_header(header("Allow", "GET, HEAD"));
            }
            (status, 0, request.respond(response))
        }
    };
    match sent {
        Ok(()) => eprintln!("{peer} {method} {target} {status} {body_bytes}"),
        Err(err) => eprintln!("{peer} {method} {target} {status} {body_bytes} (not sent: {err})"),
    }
}

/// Streams the file with its length (tiny_http would switch to chunked encoding above 32 KiB; iPXE shows a
/// download's progress only when it knows the length).
fn file_response(file: File, len: u64, content_type: &str) -> Response<File> {
    let len = usize::try_from(len).ok();
    Response::new(StatusCode(200), vec![header("Content-Type", content_type)], file, len, None)
        .with_chunked_threshold(usize::MAX)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name, value).expect("a header of this file's own ASCII text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_loopback_address_warns() {
        let dir = Path::new("tree");
        for loopback in ["127.0.0.1:8080", "127.0.0.2:0", "[::1]:8080"] {
            assert_eq!(exposure_warning(loopback.parse().unwrap(), dir), None, "{loopback}");
        }
        for exposed in ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:80"] {
            let warning = exposure_warning(exposed.parse().unwrap(), dir).unwrap();
            assert!(warning.starts_with(&format!("warning: {exposed} ")) && !warning.contains('\n'), "{warning}");
        }
    }

    #[test]
    fn content_types_by_extension() {
        for (name, want) in [
            ("boot.ipxe", "text/plain; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("nixos-images-overlay.cpio.gz", "application/gzip"),
            ("manifest.json", "application/json"),
            ("dnsmasq.conf", "text/plain; charset=utf-8"),
            ("SHA256SUMS.txt", "text/plain; charset=utf-8"),
            ("BOOT.IPXE", "text/plain; charset=utf-8"),
            ("initrd", "application/octet-stream"),
            ("bzImage-x86_64-linux", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), want, "{name}");
        }
    }
}
