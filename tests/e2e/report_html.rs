//! The HTML report in a real browser: headless Chromium renders `report/report.html` of a
//! hand-built scored bundle. The screenshot is a PNG, the rendered DOM holds every section, and
//! the file references nothing outside the bundle.
//!
//! Without Chromium (`apt-get install chromium`) the test says so and skips; with
//! `PA_REQUIRE_LIVE=1` (as `.ci/run` sets after `.ci/live-lab-setup` installed it) it fails.

use pa_e2e::workspace_bin;
use pa_reporting::synthetic::BundleSpec;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECTIONS: [&str; 9] = [
    "summary",
    "matrix",
    "latency",
    "gaps",
    "actions",
    "detections",
    "telemetry",
    "bridge",
    "artifacts",
];

fn required() -> bool {
    std::env::var("PA_REQUIRE_LIVE").as_deref() == Ok("1")
}

/// The Chromium executable on `PATH`, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Run headless Chromium on `url` with `extra` arguments; its stdout. Killed after two minutes.
fn headless(exe: &Path, profile: &Path, url: &str, extra: &[String]) -> Vec<u8> {
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium {extra:?} {url}: {status}");
    reader.join().unwrap().unwrap()
}

/// Targets of `href`/`src`-like attributes and CSS imports that leave the bundle.
fn external_references(html: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for pat in [
        "href=\"",
        "src=\"",
        "xlink:href=\"",
        "action=\"",
        "srcset=\"",
    ] {
        for (i, _) in html.match_indices(pat) {
            let rest = &html[i + pat.len()..];
            let target = &rest[..rest.find('"').unwrap_or(rest.len())];
            if target.contains(':') || target.starts_with("//") || target.starts_with('/') {
                bad.push(target.to_string());
            }
        }
    }
    for pat in [
        "@import",
        "url(",
        "<link",
        "<script",
        "<iframe",
        "<object",
        "<embed",
        "@font-face",
    ] {
        if html.contains(pat) {
            bad.push(pat.to_string());
        }
    }
    bad
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let ws = tempfile::tempdir().unwrap();
    let run = BundleSpec::demo("aaaaaaaa-0000-4000-8000-00000000c0de")
        .write(ws.path())
        .unwrap();
    let st = Command::new(workspace_bin("pa-report"))
        .arg("-qq")
        .arg("--run-dir")
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(10),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let page = run.join("report/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert!(
        !html.contains("http://www.w3.org"),
        "inline SVG needs no namespace URL"
    );

    let Some(exe) = chromium() else {
        assert!(
            !required(),
            "PA_REQUIRE_LIVE=1 but chromium is not installed (apt-get install chromium)"
        );
        eprintln!(
            "skipped: chromium is not installed (apt-get install chromium); the HTML checks above ran"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let shot = tmp.path().join("report.png");
    headless(
        &exe,
        &tmp.path().join("profile-shot"),
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1366,900".into(),
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "a blank page? {} bytes", png.len());
    if let Some(keep) = std::env::var_os("PA_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    let dom = headless(
        &exe,
        &tmp.path().join("profile-dom"),
        &url,
        &["--dump-dom".into()],
    );
    let dom = String::from_utf8(dom).unwrap();
    for id in SECTIONS {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing from the rendered DOM"
        );
    }
    assert!(
        dom.contains("<svg class=\"chart\""),
        "the latency chart rendered"
    );
    assert!(!dom.contains("<script"), "hostile rule titles stay text");
    assert!(
        dom.contains("&lt;script&gt;alert"),
        "the hostile title is shown, escaped"
    );
    assert!(dom.contains("T1003.001") && dom.contains("Credential Access"));
}
