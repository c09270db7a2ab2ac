//! A loopback HTTP server for static files: GET and HEAD, one request per connection, every request logged (so
//! a test can check what a browser or a guest fetched, in which order).
//!
//! It listens on 127.0.0.1 only. Browsers get it directly; qemu guests reach it through `guestfwd` (a slirp
//! address forwarded to this port), so nothing else is ever contacted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (with any query).
    pub path: String,
    pub status: u16,
}

pub struct Server {
    port: u16,
    prefix: String,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `root` at `/` on a free loopback port.
    pub fn start(root: &Path) -> Server {
        Server::start_under(root, "/")
    }

    /// Serves `root` under the URL path `prefix` (`/sub/generator/`), so relative URLs are exercised; a path
    /// ending in `/` serves its `index.html`.
    pub fn start_under(root: &Path, prefix: &str) -> Server {
        assert!(prefix.starts_with('/') && prefix.ends_with('/'), "a prefix is /.../");
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let site = Site { root: root.to_path_buf(), prefix: prefix.to_string() };
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (site, log) = (site.clone(), log.clone());
                    std::thread::spawn(move || serve(conn, &site, &log));
                }
            })
        };
        Server { port, prefix: prefix.to_string(), log, stop, thread: Some(thread) }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `rel` under the served prefix.
    pub fn url(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}{}{rel}", self.port, self.prefix)
    }

    /// The requests so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Paths of the successful GETs, in order.
    pub fn fetched(&self) -> Vec<String> {
        self.requests().into_iter().filter(|r| r.method == "GET" && r.status == 200).map(|r| r.path).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop up so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone)]
struct Site {
    root: PathBuf,
    prefix: String,
}

impl Site {
    /// The file for a URL path; `None` outside the prefix or for anything that could leave the root.
    fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let mut rel = url_path.strip_prefix(&self.prefix)?.to_string();
        if rel.is_empty() || rel.ends_with('/') {
            rel.push_str("index.html");
        }
        let rel = Path::new(&rel);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        let file = self.root.join(rel);
        file.is_file().then_some(file)
    }
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn serve(conn: TcpStream, site: &Site, log: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    // The rest of the head; bodies are not expected.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let target = words.next().unwrap_or("").to_string();
    let file = site.resolve(target.split(['?', '#']).next().unwrap_or(""));
    let (status, body, kind) = match (&method[..], &file) {
        ("GET" | "HEAD", Some(f)) => match std::fs::read(f) {
            Ok(body) => (200, body, content_type(f)),
            Err(_) => (404, b"not found\n".to_vec(), "text/plain"),
        },
        ("GET" | "HEAD", None) => (404, b"not found\n".to_vec(), "text/plain"),
        _ => (405, b"method not allowed\n".to_vec(), "text/plain"),
    };
    log.lock().unwrap().push(Request { method: method.clone(), path: target, status });
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: {kind}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let mut conn = conn;
    let _ = conn.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = conn.write_all(&body);
    }
    let _ = conn.flush();
    let _ = conn.shutdown(Shutdown::Write);
    // Let the client read everything and close first (an early close could reset the connection).
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(server: &Server, path: &str) -> String {
        let mut conn = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        write!(conn, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut out = String::new();
        conn.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_files_under_its_prefix_only_and_logs_every_request() {
        let dir = std::env::temp_dir().join(format!("test-support-http-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("index.html"), "home").unwrap();
        std::fs::write(dir.join("a/b.wasm"), "wasm").unwrap();
        let server = Server::start_under(&dir, "/sub/");
        assert!(get(&server, "/sub/").ends_with("home"));
        let wasm = get(&server, "/sub/a/b.wasm?x=1");
        assert!(wasm.contains("Content-Type: application/wasm") && wasm.ends_with("wasm"), "{wasm}");
        assert!(get(&server, "/a/b.wasm").starts_with("HTTP/1.1 404"));
        assert!(get(&server, "/sub/../sub/index.html").starts_with("HTTP/1.1 404"));
        assert_eq!(server.fetched(), ["/sub/", "/sub/a/b.wasm?x=1"]);
        assert_eq!(server.requests().len(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
