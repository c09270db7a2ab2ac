//! `nixos-images-gen serve`: the real binary on a temporary tree, spoken to in raw HTTP/1.1 over 127.0.0.1 (the
//! only address these tests connect to). Checked: files with their type, length and exact bytes, HEAD, nested
//! files, directories with and without index.html, 404, every way out of the tree (`..` raw and encoded, a
//! backslash, NUL, symlinks to a file and to a directory outside) refused with 403 without the outside file's
//! content, 405 for other methods, one access log line per request, that a stalled download does not hold up
//! another request, and a bad DIR (exit 2, one line). Each server is killed when its test ends, failed or not.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

const GEN: &str = env!("CARGO_BIN_EXE_nixos-images-gen");
/// How long a read from the server may block before the test fails instead of hanging: a guard, never a
/// measurement.
const PATIENCE: Duration = Duration::from_secs(60);
/// The content of every file outside the tree; no response may ever contain it.
const SECRET: &str = "SECRET-OUTSIDE-THE-TREE";
const BOOT_IPXE: &str = "#!ipxe\nchain http://127.0.0.1/netboot.ipxe\n";

/// `<tmp>/tree`, the served directory, and `<tmp>/x`, `<tmp>/secret.txt` beside it.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    for dir in ["hosts", "site", "empty", "a"] {
        fs::create_dir_all(tree.join(dir)).unwrap();
    }
    fs::write(tree.join("boot.ipxe"), BOOT_IPXE).unwrap();
    fs::write(tree.join("overlay.cpio.gz"), binary(100 * 1024)).unwrap();
    fs::write(tree.join("manifest.json"), "{\"schema\": \"nixos-images/manifest/v1\"}\n").unwrap();
    fs::write(tree.join("initrd"), binary(3000)).unwrap();
    fs::write(tree.join("hosts/52-54-00-12-34-56.ipxe"), "#!ipxe\necho web1\n").unwrap();
    fs::write(tree.join("site/index.html"), "<!doctype html><title>netboot</title>\n").unwrap();
    fs::write(tree.join("empty/listed.txt"), "a listing would name me\n").unwrap();
    fs::write(tmp.path().join("x"), SECRET).unwrap();
    fs::write(tmp.path().join("secret.txt"), SECRET).unwrap();
    symlink("../secret.txt", tree.join("out.txt")).unwrap();
    symlink("..", tree.join("outdir")).unwrap();
    (tmp, tree)
}

/// Every byte value, repeated (no valid UTF-8, so a text conversion anywhere would show).
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

/// A running `serve`; dropping it kills the process.
struct Server {
    child: Child,
    port: u16,
    log: Receiver<String>,
}

impl Server {
    fn start(tree: &Path) -> Server {
        let mut child = Command::new(GEN)
            .arg("serve")
            .arg(tree)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, log) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let mut server = Server { child, port: 0, log };
        let first = server.next_log_line();
        let port = first
            .strip_prefix(&format!("serving {} at http://127.0.0.1:", tree.display()))
            .and_then(|rest| rest.strip_suffix("/ (Ctrl-C stops)"))
            .unwrap_or_else(|| panic!("first line: {first}"));
        server.port = port.parse().unwrap();
        server
    }

    fn next_log_line(&self) -> String {
        self.log.recv_timeout(PATIENCE).expect("a line on the server's stderr")
    }

    /// A connection to the server on 127.0.0.1, never any other address.
    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// Sends `method target` (and `body`) on a fresh connection and reads the whole reply.
    fn request(&self, method: &str, target: &str, body: &str) -> Reply {
        let mut stream = self.connect();
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all((head + body).as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        Reply::parse(raw)
    }

    fn get(&self, target: &str) -> Reply {
        self.request("GET", target, "")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    raw: Vec<u8>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn parse(raw: Vec<u8>) -> Reply {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete header");
        let head = String::from_utf8(raw[..end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect(status_line);
        let headers = lines
            .map(|l| l.split_once(": ").expect(l))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
            .collect();
        let body = raw[end + 4..].to_vec();
        Reply { raw, status, headers, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> u64 {
        self.header("content-length").expect("Content-Length").parse().unwrap()
    }
}

#[test]
fn get_serves_each_file_with_its_type_length_and_exact_bytes() {
    let (_tmp, tree) = fixture();
    let server = Server::start(&tree);
    for (target, content_type) in [
        ("/boot.ipxe", "text/plain; charset=utf-8"),
        // Above tiny_http's 32 KiB chunking threshold: still one Content-Length and the bytes as they are.
        ("/overlay.cpio.gz", "application/gzip"),
        ("/manifest.json", "application/json"),
        ("/initrd", "application/octet-stream"),
    ] {
        let reply = server.get(target);
        let want = fs::read(tree.join(&target[1..])).unwrap();
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{target}");
        assert_eq!(reply.content_length(), want.len() as u64, "{target}");
        assert_eq!(reply.header("transfer-encoding"), None, "{target}");
        assert!(reply.body == want, "{target}: the body is the file's bytes");
    }
}

#[test]
fn head_answers_the_length_without_a_body() {
    let (_tmp, tree) = fixture();
    let server = Server::start(&tree);
    for target in ["/boot.ipxe", "/overlay.cpio.gz"] {
        let reply = server.request("HEAD", target, "");
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(reply.content_length(), fs::metadata(tree.join(&target[1..])).unwrap().len(), "{target}");
        assert!(reply.body.is_empty(), "{target}: {} body bytes", reply.body.len());
    }
}

#[test]
fn nested_files_directories_and_missing_paths() {
    let (_tmp, tree) = fixture();
    let server = Server::start(&tree);
    let host = server.get("/hosts/52-54-00-12-34-56.ipxe");
    assert_eq!((host.status, host.header("content-type")), (200, Some("text/plain; charset=utf-8")));
    assert_eq!(host.body, b"#!ipxe\necho web1\n");
    for target in ["/site/", "/site", "/site/index.html"] {
        let site = server.get(target);
        assert_eq!((site.status, site.header("content-type")), (200, Some("text/html; charset=utf-8")), "{target}");
        assert_eq!(site.body, fs::read(tree.join("site/index.html")).unwrap(), "{target}");
    }
    // No index.html: no listing either.
    for target in ["/", "/empty/", "/empty", "/missing.ipxe", "/hosts/missing.ipxe", "/boot.ipxe/x"] {
        let reply = server.get(target);
        assert_eq!(reply.status, 404, "{target}");
        assert!(reply.body.is_empty(), "{target}");
    }
    // The query is not part of the file's name (iPXE scripts may add one).
    assert_eq!(server.get("/boot.ipxe?mac=52:54:00:12:34:56").body, BOOT_IPXE.as_bytes());
}

#[test]
fn every_way_out_of_the_tree_is_refused_and_never_read() {
    let (_tmp, tree) = fixture();
    let server = Server::start(&tree);
    for target in [
        "/../x",
        "/%2e%2e/x",
        "/%2E%2E%2Fx",
        "/a/../../x",
        "/a/%2e%2e/%2e%2e/x",
        "/a%2f..%2f..%2fx",
        "/..%5cx",
        "/a%5c..%5c..%5cx",
        "/boot.ipxe%00",
        "/out.txt",
        "/outdir/secret.txt",
        "/outdir/x",
        "/outdir/missing",
    ] {
        let reply = server.get(target);
        assert_eq!(reply.status, 403, "{target}");
        assert!(!String::from_utf8_lossy(&reply.raw).contains(SECRET), "{target}: the outside file's content");
    }
}

#[test]
fn methods_other_than_get_and_head_are_not_allowed() {
    let (_tmp, tree) = fixture();
    let server = Server::start(&tree);
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let reply = server.request(method, "/boot.ipxe", "replaced");
        assert_eq!((reply.status, reply.header("allow")), (405, Some("GET, HEAD")), "{method}");
        assert!(reply.body.is_empty(), "{method}");
    }
    assert_eq!(fs::read_to_string(tree.join("boot.ipxe")).unwrap(), BOOT_IPXE);
}

#[test]
fn each_request_logs_one_line() {
    let (_tmp, tree) = fixture();
    let server = Server::start(&tree);
    let len = BOOT_IPXE.len();
    for (method, target, line) in [
        ("GET", "/boot.ipxe", format!("127.0.0.1 GET /boot.ipxe 200 {len}")),
        ("HEAD", "/boot.ipxe", "127.0.0.1 HEAD /boot.ipxe 200 0".to_string()),
        (
            "GET",
            "/boot.ipxe?mac=52:54:00:12:34:56",
            format!("127.0.0.1 GET /boot.ipxe?mac=52:54:00:12:34:56 200 {len}"),
        ),
        ("GET", "/missing", "127.0.0.1 GET /missing 404 0".to_string()),
        ("GET", "/%2e%2e/x", "127.0.0.1 GET /%2e%2e/x 403 0".to_string()),
        ("POST", "/boot.ipxe", "127.0.0.1 POST /boot.ipxe 405 0".to_string()),
    ] {
        server.request(method, target, "");
        // Read after each request: the server writes the line once it has answered.
        assert_eq!(server.next_log_line(), line);
    }
}

#[test]
fn a_stalled_download_does_not_hold_up_other_requests() {
    let (_tmp, tree) = fixture();
    // Far more than the loopback socket buffers hold: the server's writer blocks until the client reads.
    fs::write(tree.join("big.img"), binary(32 << 20)).unwrap();
    let server = Server::start(&tree);
    let mut stalled = server.connect();
    stalled.write_all(b"GET /big.img HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    stalled.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let other = server.get("/boot.ipxe");
    assert_eq!((other.status, other.body.as_slice()), (200, BOOT_IPXE.as_bytes()));
}

/// Runs `serve DIR` expecting it to exit by itself; kills it (and fails) if it keeps running.
fn serve_exit(dir: &Path) -> (i32, String) {
    let mut child = Command::new(GEN)
        .arg("serve")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve {} kept running", dir.display());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_dir_that_is_missing_or_not_a_directory_is_a_usage_error() {
    let (tmp, tree) = fixture();
    for dir in [tmp.path().join("missing"), tree.join("boot.ipxe")] {
        let (code, stderr) = serve_exit(&dir);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("error: DIR: {}", dir.display())), "{stderr}");
    }
}
