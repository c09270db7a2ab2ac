//! The site in a real headless Chromium, driven over WebDriver (chromedriver on loopback, fantoccini over plain
//! HTTP): the site, built from examples/manifests/ and the site's fixture manifest with the web generator (`target/web/dist`, `web/build.sh`),
//! is served under a sub-path by `nixos_images_site::serve` on 127.0.0.1; the test opens the home page, follows
//! the navigation to the downloads page, compares a row's SHA-256 with the fixture manifest, copies its command,
//! then opens the generator from the navigation and has it render an install command; a second session checks
//! the dark scheme. Screenshots go to
//! target/site-test/screenshots/. Without chromium, chromedriver or the generator's build the test is skipped,
//! except under CI=true, where it fails.

mod common;

use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use nixos_images_core::manifest::AssetKind;
use nixos_images_core::Arch;
use serde_json::{json, Value};
use test_support::chromium::{Driver, CHROMEDRIVER, CHROMIUM};
use test_support::prerequisites::Prerequisites;

const BASE: &str = "/nixos-images/";
const WINDOW: (u32, u32) = (1280, 1600);

fn workspace() -> PathBuf {
    // Canonical: chromium does not find its profile through a `..` (chromedriver then waits for its port in vain).
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn generator_dist() -> PathBuf {
    std::env::var_os("NIXOS_IMAGES_GENERATOR_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/web/dist"))
}

/// True when everything is there; otherwise skips (prints why), or fails under CI=true.
fn prerequisites() -> bool {
    Prerequisites::new()
        .file(Path::new(CHROMIUM), "chromium (apt-get install chromium)")
        .file(Path::new(CHROMEDRIVER), "chromedriver (apt-get install chromium-driver)")
        .file(&generator_dist().join("index.html"), "the generator's build (web/build.sh)")
        .met()
}

async fn js(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args).await.unwrap_or_else(|e| panic!("script {script}: {e}"))
}

async fn wait_until(c: &Client, what: &str, script: &str, args: Vec<Value>) -> Value {
    let start = Instant::now();
    loop {
        let v = js(c, script, args.clone()).await;
        if !v.is_null() && v != json!(false) {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn screenshot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

async fn click_nav(c: &Client, title: &str) {
    let links = c.find_all(Locator::Css("header nav a")).await.unwrap();
    for l in links {
        if l.text().await.unwrap() == title {
            l.click().await.unwrap();
            return;
        }
    }
    panic!("no navigation link {title}");
}

#[tokio::test(flavor = "current_thread")]
async fn home_downloads_and_generator_in_chromium() {
    if !prerequisites() {
        return;
    }
    let t0 = Instant::now();
    let target = workspace().join("target/site-test");
    let out = target.join("browser-public");
    let shots = target.join("screenshots");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&shots).unwrap();
    nixos_images_site::build(&nixos_images_site::Options {
        manifests: common::manifest_dirs(),
        out: out.clone(),
        base_url: BASE.into(),
        generator: Some(generator_dist()),
        expect_channels: vec![common::MISSING_CHANNEL.into()],
        ..Default::default()
    })
    .expect("the site builds with the generator");
    // The link checker on the site with the real generator too.
    let problems = common::check_links(&out);
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
    let server = nixos_images_site::serve::start(&out, BASE, "127.0.0.1:0").unwrap();
    let driver = Driver::start(Some(&workspace().join("target/site-test/chromedriver.log")));
    let c = driver.session(&target.join("chromium-profile"), WINDOW, &[], json!({})).await;
    let result = session(&c, &server, &shots).await;
    // Each session ends before chromedriver does.
    c.close().await.unwrap();
    result.expect("browser session");
    let c = driver
        .session(
            &target.join("chromium-profile-dark"),
            WINDOW,
            &["--force-dark-mode", "--blink-settings=preferredColorScheme=0"],
            json!({}),
        )
        .await;
    let result = dark_session(&c, &server, &shots).await;
    c.close().await.unwrap();
    drop(driver);
    result.expect("dark session");
    println!("browser test: {:.1}s", t0.elapsed().as_secs_f64());
}

async fn session(c: &Client, server: &nixos_images_site::serve::Server, shots: &Path) -> Result<(), String> {
    // Home: under the sub-path, styled by its fingerprinted stylesheet.
    c.goto(&server.url("")).await.map_err(|e| e.to_string())?;
    let title = c.title().await.unwrap();
    assert!(title.contains("NixOS installable anywhere"), "{title}");
    let accent =
        js(c, "return getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();", vec![]).await;
    assert_eq!(accent, json!("#2f5fb3"), "the theme's stylesheet is applied");
    screenshot(c, shots, "home.png").await;

    // Downloads, through the navigation.
    click_nav(c, "Downloads").await;
    wait_until(c, "the downloads page", "return location.pathname.endsWith('/downloads.html');", vec![]).await;
    let m = common::all_manifests().into_iter().find(|m| m.channel == "nixos-unstable").unwrap();
    let asset = m.asset(AssetKind::KexecNoninteractive, Arch::X86_64Linux).unwrap();
    let row = c.find(Locator::Id("nixos-unstable-x86_64-linux-kexec-noninteractive")).await.unwrap();
    let sha = row.find(Locator::Css("code.sha256")).await.unwrap().text().await.unwrap();
    assert_eq!(sha, asset.sha256, "the row's SHA-256 is the manifest's");
    let file = row.find(Locator::Css("a.file")).await.unwrap();
    assert_eq!(file.attr("href").await.unwrap().as_deref(), Some(m.url(&asset.name).as_str()));
    let command = row.find(Locator::Css("pre.cmd code")).await.unwrap().text().await.unwrap();
    assert!(command.ends_with(&format!("echo '{}  {}' | sha256sum -c -", asset.sha256, asset.name)), "{command}");
    // The copy button reacts (clipboard API on a secure origin, the selection fallback otherwise).
    row.find(Locator::Css("button.copy")).await.unwrap().click().await.unwrap();
    wait_until(
        c,
        "the copy button",
        "return document.querySelector('#nixos-unstable-x86_64-linux-kexec-noninteractive button.copy').textContent === 'copied';",
        vec![],
    )
    .await;
    let missing = c.find(Locator::Id("nixos-25.05-aarch64-linux-kexec")).await.unwrap().text().await.unwrap();
    assert!(missing.contains("missing from this release"), "{missing}");
    screenshot(c, shots, "downloads.png").await;

    // The generator, through the navigation: it loads its wasm from the sub-path and renders an install command.
    click_nav(c, "Generator").await;
    wait_until(c, "the generator's output", "return !!document.getElementById('out-install');", vec![]).await;
    assert!(c.current_url().await.unwrap().path().ends_with("/nixos-images/generator/index.html"));
    let host = c.find(Locator::Id("f-hostname")).await.unwrap();
    host.clear().await.unwrap();
    host.send_keys("\u{E009}a\u{E009}\u{E017}site-browser-test").await.unwrap();
    let script = wait_until(
        c,
        "the install command with the host name",
        "const o = document.getElementById('out-install'); \
         return o && o.textContent.includes('site-browser-test') ? o.textContent : null;",
        vec![],
    )
    .await;
    let script = script.as_str().unwrap();
    assert!(script.starts_with("# NixOS kexec installer"), "{script}");
    assert!(script.contains("/root/kexec/run"), "{script}");
    screenshot(c, shots, "generator.png").await;
    // The site's navigation is on the generator's page, in the shared palette, and leads back.
    let nav = c.find(Locator::Css("nav.ni-site-nav")).await.unwrap();
    let bg = js(c, "return getComputedStyle(document.querySelector('nav.ni-site-nav')).backgroundColor;", vec![]).await;
    assert_eq!(bg, json!("rgb(255, 255, 255)"), "--card of the light scheme");
    nav.find(Locator::LinkText("Downloads")).await.unwrap().click().await.unwrap();
    wait_until(
        c,
        "the downloads page again",
        "return location.pathname.endsWith('/nixos-images/downloads.html');",
        vec![],
    )
    .await;
    Ok(())
}

/// The dark scheme: the downloads page in the generator's dark palette.
async fn dark_session(c: &Client, server: &nixos_images_site::serve::Server, shots: &Path) -> Result<(), String> {
    c.goto(&server.url("downloads.html")).await.map_err(|e| e.to_string())?;
    assert_eq!(js(c, "return matchMedia('(prefers-color-scheme: dark)').matches;", vec![]).await, json!(true));
    let bg = js(c, "return getComputedStyle(document.body).backgroundColor;", vec![]).await;
    assert_eq!(bg, json!("rgb(21, 23, 28)"), "the dark --bg (#15171c)");
    screenshot(c, shots, "downloads-dark.png").await;
    Ok(())
}
