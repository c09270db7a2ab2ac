//! A small static file server for local preview and the browser test: GET and HEAD, loopback only, the site
//! mounted under its base path (so absolute links of a generator built for that path work too).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;

use anyhow::{Context, Result};

/// A running server; it stops with the process.
pub struct Server {
    pub addr: SocketAddr,
    pub base: String,
}

impl Server {
    /// The URL of a file of the site, relative to its root.
    pub fn url(&self, rel: &str) -> String {
        format!("http://{}{}{rel}", self.addr, self.base)
    }
}

/// Binds `addr` (use port 0 for any) and serves `root` under `base` (`/` or `/path/`) on a background thread.
pub fn start(root: &Path, base: &str, addr: &str) -> Result<Server> {
    let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let base = crate::normalize_base(base);
    let (root, b) = (root.to_path_buf(), base.clone());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (root, b) = (root.clone(), b.clone());
            thread::spawn(move || {
                let _ = handle(stream, &root, &b);
            });
        }
    });
    Ok(Server { addr, base })
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" | "ipxe" | "sh" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file for a request path, or None (outside the base, `..`, missing).
pub fn resolve(root: &Path, base: &str, req_path: &str) -> Option<PathBuf> {
    let path = req_path.split(['?', '#']).next().unwrap_or("");
    let rel = path.strip_prefix(base).or_else(|| (path.to_string() + "/" == base).then_some(""))?;
    let rel = percent_decode(rel)?;
    let mut file = root.to_path_buf();
    for c in Path::new(&rel).components() {
        match c {
            Component::Normal(p) => file.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn handle(mut stream: TcpStream, root: &Path, base: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
            if h.to_ascii_lowercase().starts_with("connection:") && h.to_ascii_lowercase().contains("close") {
                close = true;
            }
        }
        let (status, ctype, body) = if method != "GET" && method != "HEAD" {
            ("405 Method Not Allowed", "text/plain; charset=utf-8", b"method not allowed\n".to_vec())
        } else if target.split(['?', '#']).next() == Some(base.trim_end_matches('/')) && base != "/" {
            let head = format!("HTTP/1.1 301 Moved Permanently\r\nLocation: {base}\r\nContent-Length: 0\r\n\r\n");
            stream.write_all(head.as_bytes())?;
            continue;
        } else {
            match resolve(root, base, target).and_then(|f| std::fs::read(&f).ok().map(|b| (f, b))) {
                Some((f, b)) => ("200 OK", content_type(&f), b),
                None => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n".to_vec()),
            }
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        if method != "HEAD" {
            stream.write_all(&body)?;
        }
        if close {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn only_files_below_the_root_under_the_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("index.html"), "i").unwrap();
        std::fs::write(dir.path().join("sub/index.html"), "s").unwrap();
        std::fs::write(dir.path().join("a b.css"), "c").unwrap();
        let r = |p: &str| resolve(dir.path(), "/base/", p).map(|f| f.strip_prefix(dir.path()).unwrap().to_owned());
        assert_eq!(r("/base/").unwrap().to_str(), Some("index.html"));
        assert_eq!(r("/base/sub/?x=1").unwrap().to_str(), Some("sub/index.html"));
        assert_eq!(r("/base/a%20b.css").unwrap().to_str(), Some("a b.css"));
        for bad in ["/index.html", "/base/../index.html", "/base/%2e%2e/x", "/base/missing", "/basex/index.html"] {
            assert_eq!(r(bad), None, "{bad}");
        }
    }
}
