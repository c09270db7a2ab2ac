//! The web generator end to end in real headless Chromium (Debian's `chromium` + `chromium-driver`), driven over
//! WebDriver on loopback, on the built page (`web/build.sh` -> target/web/dist) served by a loopback server this
//! test starts under a sub-path (so relative asset URLs are exercised).
//!
//! A person fills the form; the live outputs must equal core's renders (what the CLI prints) for the same request,
//! the downloaded bundle must be byte for byte the CLI's, a share link must restore the form, a pasted private key
//! must be refused and cleared, and the page must load nothing but its own files. Screenshots of the filled form
//! (light, dark, phone width) go to target/web-test/. Without chromium, chromedriver or the built page the test is
//! skipped, except under CI=true, where it fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use nixos_images_core::render::{bundle, cmdline, ipxe, kexec_command, networkd, nix, overlay};
use nixos_images_core::{FieldPath, Request, RequestFormat, ValidRequest};
use serde_json::{json, Value};
use test_support::chromium::{self, Driver};
use test_support::http::Server;
use test_support::prerequisites::Prerequisites;

const PREFIX: &str = "/sub/generator/";

fn dist_dir() -> PathBuf {
    std::env::var_os("NIXOS_IMAGES_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| test_support::workspace().join("target/web/dist"))
}

/// Chromium, chromedriver and the built page; without them the test is skipped, or fails under CI=true.
fn prerequisites() -> bool {
    Prerequisites::new()
        .file(Path::new(chromium::CHROMIUM), "chromium")
        .file(Path::new(chromium::CHROMEDRIVER), "chromedriver")
        .file(&dist_dir().join("index.html"), "the built page (web/build.sh)")
        .met()
}

/// A fresh Chromium profile whose downloads land in `downloads` and where `origin` may read the clipboard (to
/// check what the copy buttons wrote).
async fn session(driver: &Driver, name: &str, origin: &str, downloads: &Path, extra: &[&str]) -> Client {
    std::fs::create_dir_all(downloads).unwrap();
    let prefs = json!({
        "download.default_directory": downloads.display().to_string(),
        "download.prompt_for_download": false,
        "download.directory_upgrade": true,
        "profile.default_content_setting_values.automatic_downloads": 1,
        "profile.content_settings.exceptions.clipboard": { format!("{origin},*"): { "setting": 1 } },
    });
    driver.session(&artifacts().join(format!("profile-{name}")), (1280, 2200), extra, prefs).await
}

fn artifacts() -> PathBuf {
    let dir = test_support::workspace().join("target/web-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn example(name: &str) -> Request {
    test_support::examples::request(name)
}

/// What the CLI prints for a request, when its binary is built (`cargo test --workspace` builds it); core's render
/// otherwise (the CLI prints exactly that).
fn cli_bytes(req: &Request, args: &[&str], core: &[u8]) -> Vec<u8> {
    let bin = test_support::workspace().join("target/debug/nixos-images-gen");
    if !bin.exists() {
        return core.to_vec();
    }
    let file = artifacts().join("cli-request.toml");
    std::fs::write(&file, req.to_toml()).unwrap();
    let out = Command::new(bin).args(args).arg("--request").arg(&file).output().expect("run nixos-images-gen");
    assert!(out.status.success(), "nixos-images-gen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script {script}: {e}"))
}

async fn text_of(c: &Client, id: &str) -> String {
    let v =
        c.execute("const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", vec![json!(id)]);
    match v.await.unwrap() {
        Value::String(s) => s,
        other => panic!("#{id} not on the page ({other})"),
    }
}

async fn wait_until(c: &Client, what: &str, script: &str) -> Value {
    let start = Instant::now();
    loop {
        let v = js(c, script).await;
        if !v.is_null() && v != json!(false) {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types into an input like a person (clears it first).
async fn type_into(c: &Client, id: &str, text: &str) {
    let el = c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
    // Select all and delete, as a person would: unlike WebDriver's clear(), this fires an input event.
    el.send_keys("\u{E009}a\u{E009}\u{E017}").await.unwrap();
    if !text.is_empty() {
        el.send_keys(text).await.unwrap();
    }
}

async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}")).click().await.unwrap();
}

async fn select(c: &Client, id: &str, value: &str) {
    c.find(Locator::Id(id)).await.unwrap().select_by_value(value).await.unwrap();
}

async fn checked(c: &Client, id: &str) -> bool {
    c.find(Locator::Id(id)).await.unwrap().is_selected().await.unwrap()
}

async fn set_checked(c: &Client, id: &str, on: bool) {
    if checked(c, id).await != on {
        click(c, id).await;
    }
}

/// Fills the whole form from a request, as a person would (typing, clicking, choosing).
async fn fill(c: &Client, req: &Request) {
    click(c, "reset").await;
    select(c, "f-image", &req.image).await;
    select(c, "f-arch", &req.arch).await;
    type_into(c, "f-channel", &req.channel).await;
    select(c, "f-release-installer", req.release.installer.as_deref().unwrap_or("upstream")).await;
    set_checked(c, "f-strict", req.strict).await;
    type_into(c, "f-hostname", req.hostname.as_deref().unwrap_or("")).await;
    type_into(c, "f-ssh_authorized_keys", &req.ssh_authorized_keys.join("\n")).await;
    type_into(c, "f-kernel_params", &req.kernel_params.join(" ")).await;
    type_into(c, "f-nameservers", &req.nameservers.join("\n")).await;
    for (i, iface) in req.interfaces.iter().enumerate() {
        click(c, "add-interface").await;
        let p = format!("f-interfaces-{i}");
        if let Some(mac) = &iface.match_mac {
            select(c, &format!("{p}-match_by"), "mac").await;
            type_into(c, &format!("{p}-match"), mac).await;
        } else if let Some(name) = &iface.match_name {
            select(c, &format!("{p}-match_by"), "name").await;
            type_into(c, &format!("{p}-match"), name).await;
        }
        set_checked(c, &format!("{p}-dhcp"), iface.dhcp).await;
        type_into(c, &format!("{p}-addresses"), &iface.addresses.join("\n")).await;
        for (j, r) in iface.routes.iter().enumerate() {
            click(c, &format!("add-route-{i}")).await;
            type_into(c, &format!("{p}-routes-{j}-destination"), &r.destination).await;
            type_into(c, &format!("{p}-routes-{j}-gateway"), r.gateway.as_deref().unwrap_or("")).await;
            set_checked(c, &format!("{p}-routes-{j}-on_link"), r.on_link).await;
        }
    }
    type_into(c, "f-kexec-delay_seconds", &req.kexec.delay_seconds.to_string()).await;
    type_into(c, "f-kexec-extra_flags", &req.kexec.extra_flags.join(" ")).await;
    type_into(c, "f-kexec-panic_reboot_seconds", &req.kexec.panic_reboot_seconds.to_string()).await;
    type_into(c, "f-kexec-rollback_minutes", &req.kexec.rollback_minutes.to_string()).await;
}

/// The live outputs must be exactly core's renders, which is what the CLI prints.
async fn assert_outputs(c: &Client, req: &Request) {
    let valid: ValidRequest = req.validate().expect("the test's request is valid");
    wait_until(
        c,
        "outputs",
        "return document.getElementById('error-summary') === null && !!document.querySelector('pre.out');",
    )
    .await;
    if valid.image().is_kexec() {
        let core = kexec_command::render(&valid).text();
        let cli = cli_bytes(req, &["render", "kexec-command"], core.as_bytes());
        assert_eq!(text_of(c, "out-install").await, core);
        assert_eq!(core.as_bytes(), cli.as_slice(), "core and the CLI disagree");
    } else {
        let core = ipxe::render(&valid).text();
        let cli = cli_bytes(req, &["render", "ipxe"], core.as_bytes());
        assert_eq!(text_of(c, "out-ipxe").await, core);
        assert_eq!(core.as_bytes(), cli.as_slice());
    }
    let core = nix::render(&valid).text();
    assert_eq!(text_of(c, "out-nix").await, core);
    assert_eq!(cli_bytes(req, &["render", "nix-module"], core.as_bytes()), core.as_bytes());
    assert_eq!(text_of(c, "out-cmdline").await, cmdline::line(&valid));
    let core_cmdline = cmdline::render(&valid).text();
    assert_eq!(cli_bytes(req, &["render", "cmdline"], core_cmdline.as_bytes()), core_cmdline.as_bytes());
    let units = js(
        c,
        "return Array.from(document.querySelectorAll('#out-networkd pre')).map(p => [p.dataset.path, p.textContent]);",
    )
    .await;
    let expected: Vec<Value> =
        networkd::render(&valid).files.iter().map(|f| json!([f.path, String::from_utf8_lossy(&f.contents)])).collect();
    assert_eq!(units, Value::Array(expected));
    let bytes = text_of(c, "cmdline-bytes").await;
    assert!(bytes.contains(&format!("{} bytes used of 2048", cmdline::line(&valid).len())), "{bytes}");
}

async fn wait_for_download(dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    let start = Instant::now();
    loop {
        if path.exists() && !dir.join(format!("{name}.crdownload")).exists() {
            if let Ok(bytes) = std::fs::read(&path) {
                if !bytes.is_empty() {
                    return bytes;
                }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no download {name} in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = artifacts().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let png = c.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
    path
}

/// Every request the server saw and every resource the page fetched must be one of the page's own files.
async fn assert_only_own_files(c: &Client, server: &Server) {
    let own: BTreeSet<String> = std::fs::read_dir(dist_dir())
        .unwrap()
        .map(|e| format!("{PREFIX}{}", e.unwrap().file_name().to_string_lossy()))
        .chain([PREFIX.to_string()])
        .collect();
    let log: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    for path in &log {
        assert!(own.contains(path.split('?').next().unwrap()), "the page requested {path}, not one of its files");
    }
    let resources = js(c, "return performance.getEntriesByType('resource').map(e => e.name);").await;
    let origin = format!("http://127.0.0.1:{}", server.port());
    for r in resources.as_array().unwrap() {
        let r = r.as_str().unwrap();
        let path = r.strip_prefix(&origin).unwrap_or_else(|| panic!("the page fetched {r} from another origin"));
        assert!(own.contains(path), "the page fetched {r}");
    }
    println!("network: {} requests to the loopback server, all the page's own files: {log:?}", log.len());
}

#[tokio::test(flavor = "current_thread")]
async fn the_page_in_chromium() {
    if !prerequisites() {
        return;
    }
    let t0 = Instant::now();
    let server = Server::start_under(&dist_dir(), PREFIX);
    let driver = Driver::start(None);
    let downloads = fresh_dir("downloads-light");
    let origin = format!("http://127.0.0.1:{}", server.port());
    let c = session(&driver, "light", &origin, &downloads, &[]).await;
    let result = light_session(&c, &server, &downloads).await;
    let _ = c.close().await;
    let share_url = result;
    println!("light session: {:.1}s", t0.elapsed().as_secs_f64());

    let t1 = Instant::now();
    let dark_downloads = fresh_dir("downloads-dark");
    let c = session(
        &driver,
        "dark",
        &origin,
        &dark_downloads,
        &["--force-dark-mode", "--blink-settings=preferredColorScheme=0"],
    )
    .await;
    dark_session(&c, &share_url).await;
    let _ = c.close().await;
    println!("dark session: {:.1}s", t1.elapsed().as_secs_f64());
    drop(driver);
    println!("browser test total: {:.1}s", t0.elapsed().as_secs_f64());
}

/// Returns the share link of the filled form.
async fn light_session(c: &Client, server: &Server, downloads: &Path) -> String {
    // Time to interactive: navigation start to the first rendered output, as the page records it.
    c.goto(&server.url("")).await.unwrap();
    let tti = wait_until(c, "the first output", "return document.body.dataset.firstOutputMs || null;").await;
    let nav = js(
        c,
        "const n = performance.getEntriesByType('navigation')[0]; return [n.domContentLoadedEventEnd, n.loadEventEnd];",
    )
    .await;
    println!(
        "time to interactive (navigation start to first rendered output): {} ms; DOMContentLoaded/load: {nav}",
        tti.as_str().unwrap()
    );
    let dark = js(c, "return matchMedia('(prefers-color-scheme: dark)').matches;").await;
    assert_eq!(dark, json!(false), "the first session is the light scheme");

    // Inline errors as the person types: a gateway outside the /32 without on-link.
    let mut req = example("static-hetzner.toml");
    req.image = "kexec".into();
    req.kexec.extra_flags = vec!["--no-checks".into()];
    req.kexec.panic_reboot_seconds = 5;
    req.kexec.rollback_minutes = 30;
    fill(c, &req).await;
    assert_outputs(c, &req).await;
    // The rollback watchdog: upstream's installer has none (core's notice at the field); this project's puts it on
    // the command line (assert_outputs compares it with core's); a bad number is the form's own error.
    let notice = text_of(c, "f-kexec-rollback_minutes-notice").await;
    assert!(notice.contains("upstream's installer has no watchdog"), "{notice}");
    select(c, "f-release-installer", "nixos-images").await;
    req.release.installer = Some("nixos-images".into());
    assert_outputs(c, &req).await;
    assert!(text_of(c, "out-cmdline").await.contains("panic=5 nixos_images.rollback_seconds=1800"));
    type_into(c, "f-kexec-rollback_minutes", "soon").await;
    let err = wait_until(
        c,
        "the rollback field's error",
        "return document.getElementById('f-kexec-rollback_minutes-err')?.textContent || null;",
    )
    .await;
    assert_eq!(err, json!("must be a whole number of minutes (0: off, at most 1440)"));
    type_into(c, "f-kexec-rollback_minutes", "30").await;
    // A delay below the floor: core's message, with its reason, at the field.
    type_into(c, "f-kexec-delay_seconds", "0").await;
    let err = wait_until(
        c,
        "the delay field's error",
        "return document.getElementById('f-kexec-delay_seconds-err')?.textContent || null;",
    )
    .await;
    let mut short = req.clone();
    short.kexec.delay_seconds = 0;
    let delay = FieldPath::field("kexec").key("delay_seconds");
    assert_eq!(err, json!(short.validate().unwrap_err().for_field(&delay).next().unwrap().message));
    assert!(err.as_str().unwrap().contains("SSH session"), "{err}");
    type_into(c, "f-kexec-delay_seconds", &req.kexec.delay_seconds.to_string()).await;
    select(c, "f-release-installer", "upstream").await;
    req.release.installer = None;
    assert_outputs(c, &req).await;
    set_checked(c, "f-interfaces-0-routes-0-on_link", false).await;
    let gw = c.find(Locator::Id("f-interfaces-0-routes-0-gateway")).await.unwrap();
    assert_eq!(gw.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    let described = gw.attr("aria-describedby").await.unwrap().expect("aria-describedby");
    let mut bad = req.clone();
    bad.interfaces[0].routes[0].on_link = false;
    let core_error = bad.validate().unwrap_err();
    let gateway = FieldPath::field("interfaces").index(0).key("routes").index(0).key("gateway");
    let message = &core_error.for_field(&gateway).next().unwrap().message;
    let shown = text_of(c, described.split(' ').next().unwrap()).await;
    assert_eq!(&shown, message, "the field shows core's message");
    assert!(text_of(c, "error-summary").await.contains("interfaces[0].routes[0].gateway"));
    screenshot(c, "form-error-light.png").await;
    set_checked(c, "f-interfaces-0-routes-0-on_link", true).await;
    assert_eq!(gw.attr("aria-invalid").await.unwrap(), None);

    // A bad key line is marked by its line number; a typed MAC error at its field.
    type_into(c, "f-ssh_authorized_keys", &format!("{}\nssh-ed25519 AAAA", req.ssh_authorized_keys[0])).await;
    let keys_err = text_of(c, "f-ssh_authorized_keys-err").await;
    assert!(keys_err.starts_with("line 2: "), "{keys_err}");
    type_into(c, "f-ssh_authorized_keys", &req.ssh_authorized_keys.join("\n")).await;
    assert_outputs(c, &req).await;

    // Copy: the install command reaches the clipboard as it is shown.
    click(c, "copy-install").await;
    wait_until(c, "the copy", "return document.getElementById('status').textContent.startsWith('Copied') || null;")
        .await;
    let copied = c
        .execute_async("navigator.clipboard.readText().then(arguments[0], e => arguments[0]('error: ' + e));", vec![])
        .await
        .unwrap();
    assert_eq!(copied.as_str().unwrap(), text_of(c, "out-install").await);

    // The byte counter goes on while the line is too long, next to core's error at the field.
    let long: Vec<String> = (0..40).map(|i| format!("nixos_images_test_parameter_{i:02}=0123456789")).collect();
    // Pasted, as such a line would be (typing 1,900 characters re-renders 1,900 times).
    c.execute(
        "const t = document.getElementById('f-kernel_params'); t.focus(); t.select(); document.execCommand('insertText', false, arguments[0]);",
        vec![json!(long.join(" "))],
    )
    .await
    .unwrap();
    let params = c.find(Locator::Id("f-kernel_params")).await.unwrap();
    assert_eq!(params.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    let over = text_of(c, "cmdline-bytes").await;
    // With upstream's images the host name and nameservers are on the line too.
    let used =
        cmdline::request_params_unchecked(&Request { kernel_params: long.clone(), ..req.clone() }).unwrap().len();
    assert!(over.contains(&format!("{used} bytes used of 2048: {} too many", used - 1648)), "{over}");
    assert!(text_of(c, "f-kernel_params-err").await.contains("too long"));
    type_into(c, "f-kernel_params", &req.kernel_params.join(" ")).await;
    assert_outputs(c, &req).await;

    // Keyboard: arrow keys move between the output tabs.
    click(c, "tab-install").await;
    c.find(Locator::Id("tab-install")).await.unwrap().send_keys("\u{E014}").await.unwrap();
    wait_until(c, "the next tab", "return document.activeElement.id === 'tab-ipxe' && document.getElementById('tab-ipxe').getAttribute('aria-selected') === 'true';").await;
    click(c, "tab-install").await;

    // The bundle, byte for byte the CLI's.
    let valid = req.validate().unwrap();
    let artifact = bundle::render(&valid);
    let name = &artifact.files[0].path;
    click(c, "download-bundle").await;
    let got = wait_for_download(downloads, name).await;
    let cli = cli_bytes(&req, &["bundle"], &artifact.files[0].contents);
    assert_eq!(got, artifact.files[0].contents, "the downloaded bundle is core's bundle");
    assert_eq!(got, cli, "the downloaded bundle is the CLI's bundle");
    println!("bundle {name}: {} bytes, identical to the CLI's", got.len());
    click(c, "download-overlay").await;
    let ov = overlay::render(&valid);
    assert_eq!(wait_for_download(downloads, &ov.files[0].path).await, ov.files[0].contents);

    // Export the request file: the CLI's format.
    click(c, "export").await;
    let exported = String::from_utf8(wait_for_download(downloads, "request.toml").await).unwrap();
    assert_eq!(Request::parse(&exported, RequestFormat::Toml).unwrap(), req);
    assert_eq!(exported, req.to_toml());

    // The screenshot of the filled form, light scheme.
    js(c, "window.scrollTo(0, 0);").await;
    screenshot(c, "form-light.png").await;

    // Share link: the request is in the fragment, never the query; a fresh load restores the form.
    click(c, "share").await;
    let share = c.find(Locator::Id("share-url")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(share.starts_with(&server.url("")) && share.contains("#r=1.") && !share.contains('?'), "{share}");
    click(c, "reset").await;
    assert_eq!(c.find(Locator::Id("f-hostname")).await.unwrap().prop("value").await.unwrap().as_deref(), Some(""));
    c.goto("about:blank").await.unwrap();
    c.goto(&share).await.unwrap();
    wait_until(c, "the restored form", "return document.getElementById('f-hostname')?.value === 'web1';").await;
    assert_outputs(c, &req).await;
    assert!(checked(c, "f-interfaces-0-routes-0-on_link").await);

    // Netboot: the iPXE script, and the iPXE script alone as a download. Also through import of a request file.
    let net = example("netboot-static.toml");
    let file = artifacts().join("import-netboot.toml");
    std::fs::write(&file, net.to_toml()).unwrap();
    c.find(Locator::Id("import")).await.unwrap().send_keys(&file.display().to_string()).await.unwrap();
    wait_until(c, "the imported request", "return document.getElementById('f-hostname')?.value === 'install-07';")
        .await;
    assert_outputs(c, &net).await;
    let valid_net = net.validate().unwrap();
    let script = ipxe::render(&valid_net);
    click(c, "download-ipxe").await;
    assert_eq!(wait_for_download(downloads, &script.files[0].path).await, script.files[0].contents);
    let net_bundle = bundle::render(&valid_net);
    click(c, "download-bundle").await;
    let got = wait_for_download(downloads, &net_bundle.files[0].path).await;
    assert_eq!(got, cli_bytes(&net, &["bundle"], &net_bundle.files[0].contents));

    // What upstream's netboot image ignores is said at each field, as core words it; this project's images
    // apply it all; strict mode makes it an error.
    let notices = nixos_images_core::effects::notices(&valid_net);
    for (path, id) in
        [("ssh_authorized_keys", "f-ssh_authorized_keys"), ("interfaces[0].addresses", "f-interfaces-0-addresses")]
    {
        let notice = notices.iter().find(|n| n.path == path).unwrap_or_else(|| panic!("core has no notice for {path}"));
        let shown = text_of(c, &format!("{id}-notice")).await;
        assert_eq!(shown, format!("warning: {}", notice.message), "the notice at {id}");
        let described = c.find(Locator::Id(id)).await.unwrap().attr("aria-describedby").await.unwrap();
        assert!(described.unwrap_or_default().contains(&format!("{id}-notice")), "{id} is not described by its notice");
    }
    js(c, "document.getElementById('f-ssh_authorized_keys').scrollIntoView();").await;
    screenshot(c, "form-notice-light.png").await;
    select(c, "f-release-installer", "nixos-images").await;
    wait_until(c, "no notices with this project's images", "return document.querySelector('ul.notice') === null;")
        .await;
    select(c, "f-release-installer", "upstream").await;
    wait_until(c, "the notices again", "return document.getElementById('f-ssh_authorized_keys-notice') !== null;")
        .await;
    set_checked(c, "f-strict", true).await;
    let strict = wait_until(
        c,
        "strict mode's error",
        "return document.getElementById('f-ssh_authorized_keys-err')?.textContent || null;",
    )
    .await;
    assert!(strict.as_str().unwrap().ends_with("(strict)"), "{strict}");
    assert!(text_of(c, "error-summary").await.contains("ssh_authorized_keys"));
    set_checked(c, "f-strict", false).await;

    // A pasted private key is refused, cleared, and never shown.
    let secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
    c.execute(
        "const t = document.getElementById('f-ssh_authorized_keys'); t.focus(); t.select(); document.execCommand('insertText', false, arguments[0]);",
        vec![json!(secret)],
    )
    .await
    .unwrap();
    let warning = wait_until(
        c,
        "the private-key warning",
        "return document.getElementById('private-key-warning')?.textContent || null;",
    )
    .await;
    assert!(warning.as_str().unwrap().contains("PRIVATE key"), "{warning}");
    let value = c.find(Locator::Id("f-ssh_authorized_keys")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(value.as_deref(), Some(""), "the pasted private key is cleared");
    let body =
        js(c, "return document.documentElement.outerHTML + localStorage.getItem('nixos-images-web/draft');").await;
    assert!(
        !body.as_str().unwrap().contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"),
        "the secret is on the page or in storage"
    );

    keystroke_timing(c).await;
    assert_only_own_files(c, server).await;
    share
}

/// The large request of the keystroke timing: 64 interfaces (each a static address and a route) and 256 SSH keys.
fn large_request() -> Request {
    use base64::Engine;
    let mut req = example("static-hetzner.toml");
    req.image = "kexec".into();
    req.ssh_authorized_keys = (0..256u32)
        .map(|i| {
            // An ed25519 public key blob: its type, then 32 key bytes.
            let mut blob = Vec::new();
            for part in [&b"ssh-ed25519"[..], &[i as u8; 32]] {
                blob.extend((part.len() as u32).to_be_bytes());
                blob.extend(part);
            }
            format!("ssh-ed25519 {} key{i}@laptop", base64::engine::general_purpose::STANDARD.encode(blob))
        })
        .collect();
    let template = req.interfaces[0].clone();
    req.interfaces = (0..64u32)
        .map(|i| {
            let mut iface = template.clone();
            iface.match_mac = Some(format!("52:54:00:12:{:02x}:{:02x}", i / 256, i % 256));
            iface.match_name = None;
            iface.dhcp = false;
            iface.addresses = vec![format!("10.{i}.0.2/24")];
            iface.routes = vec![nixos_images_core::request::RouteRequest {
                destination: format!("172.16.{i}.0/24"),
                gateway: Some(format!("10.{i}.0.1")),
                on_link: false,
            }];
            iface
        })
        .collect();
    req.validate().expect("the large request is valid");
    req
}

/// Types `suffix` at the end of the input `id` one character at a time inside the page, as the browser's editing
/// does for a key press (`insertText`, which fires the input event), and returns per keystroke the milliseconds from
/// the edit to the outputs' DOM update and to the end of the style and layout that follow it.
async fn time_keystrokes(c: &Client, id: &str, suffix: &str) -> Vec<(f64, f64)> {
    let script = r#"
        const [id, suffix, done] = arguments;
        const input = document.getElementById(id);
        const outputs = document.querySelector('section.outputs');
        input.focus();
        input.setSelectionRange(input.value.length, input.value.length);
        const times = [];
        let typed = 0;
        const step = () => {
            if (typed === suffix.length) { done(times); return; }
            const key = suffix[typed];
            typed += 1;
            let t0 = 0;
            const observer = new MutationObserver(() => {
                observer.disconnect();
                const dom = performance.now();
                void document.body.offsetHeight;
                times.push([dom - t0, performance.now() - t0]);
                setTimeout(step, 20);
            });
            observer.observe(outputs, { childList: true, subtree: true, characterData: true, attributes: true });
            t0 = performance.now();
            document.execCommand('insertText', false, key);
        };
        step();
    "#;
    let v = c.execute_async(script, vec![json!(id), json!(suffix)]).await.expect("timing script");
    v.as_array()
        .expect("an array of timings")
        .iter()
        .map(|t| (t[0].as_f64().unwrap(), t[1].as_f64().unwrap()))
        .collect()
}

fn print_timings(what: &str, times: &[(f64, f64)]) {
    let stats = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (dom_median, dom_max) = stats(times.iter().map(|t| t.0).collect());
    let (layout_median, layout_max) = stats(times.iter().map(|t| t.1).collect());
    println!(
        "keystroke re-render, {what} ({} keystrokes): outputs updated after median {dom_median:.1} ms (max \
         {dom_max:.1}); with style and layout median {layout_median:.1} ms (max {layout_max:.1}); one frame is 16 ms",
        times.len()
    );
}

/// The time to re-render after one keystroke on the large request, printed (never asserted); the outputs after
/// the typing must still be core's.
async fn keystroke_timing(c: &Client) {
    let mut req = large_request();
    let file = artifacts().join("import-large.toml");
    std::fs::write(&file, req.to_toml()).unwrap();
    c.find(Locator::Id("import")).await.unwrap().send_keys(&file.display().to_string()).await.unwrap();
    wait_until(c, "the large request", "return document.getElementById('interface-63') !== null;").await;
    assert_outputs(c, &req).await;

    let host = req.hostname.clone().unwrap_or_default();
    let times = time_keystrokes(c, "f-hostname", "abcdefghijklmnopqrst").await;
    print_timings("host name, 64 interfaces and 256 keys", &times);
    req.hostname = Some(format!("{host}abcdefghijklmnopqrst"));
    assert_outputs(c, &req).await;

    let times = time_keystrokes(c, "f-ssh_authorized_keys", "abcdefghij").await;
    print_timings("the last of 256 SSH keys", &times);
    *req.ssh_authorized_keys.last_mut().unwrap() += "abcdefghij";
    assert_outputs(c, &req).await;
}

async fn dark_session(c: &Client, share: &str) {
    c.goto(share).await.unwrap();
    wait_until(c, "the restored form", "return document.getElementById('f-hostname')?.value === 'web1';").await;
    let dark = js(c, "return matchMedia('(prefers-color-scheme: dark)').matches;").await;
    assert_eq!(dark, json!(true), "the second session prefers the dark scheme");
    let bg = js(c, "return getComputedStyle(document.body).backgroundColor;").await;
    assert_eq!(bg, json!("rgb(21, 23, 28)"), "the dark scheme's background");
    screenshot(c, "form-dark.png").await;
    // Readable on a phone: one column at 390 px, nothing wider than the screen.
    c.set_window_size(390, 2400).await.unwrap();
    let overflow = wait_until(
        c,
        "the phone layout",
        "return document.documentElement.scrollWidth <= window.innerWidth ? 'fits' : null;",
    )
    .await;
    assert_eq!(overflow, json!("fits"));
    screenshot(c, "form-phone-dark.png").await;
}
