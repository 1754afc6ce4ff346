//! Accessibility, measured in headless Chromium (the harness of the other browser tests), on
//! every page type a person meets: the home page, the demo portal (before and after a
//! verification), the consent page, the method choice, the page of each pattern (PC reader,
//! QR code, smartphone only), the QR page asking for the code and after a failed reading,
//! the confirmation code page, the result pages (failed, expired; a verified one sends the
//! person back to the service at once), every error page (another browser, a start link used
//! twice, an unknown session, an authorization request that cannot start, a refused way
//! back), and the "app needed" page; in Japanese and in English (the browser's
//! Accept-Language), at a desktop viewport (1280×800) and a phone's (390×844).
//!
//! * axe-core (npm, pinned by `tests/axe/package-lock.json`, installed with `npm ci` into the
//!   target directory) runs on each page with the WCAG 2.0/2.1/2.2 A and AA rules: zero
//!   violations.
//! * Every link, button and input is at least 24×24 CSS px (WCAG 2.2, 2.5.8 Target Size
//!   (Minimum)). Exempt, as the criterion says: a link inline within a sentence ("Inline");
//!   nothing else is (the spacing exception is not used).
//! * Pattern 2 (QR code and confirmation code) completes with the keyboard alone, and the
//!   element that has the focus is always visible and visibly marked.
//! * The pages' live status region exists and says what changed when the session's state
//!   changes.
//!
//! One browser per viewport and language goes through all the pages, once for both the axe
//! and the target-size test (`MYNAID_A11Y_SCREENSHOTS=<dir>` keeps a screenshot of each). Needs Chromium with chromedriver (scripts/lib/browser.sh) and Node.js
//! with npm (scripts/lib/node.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod demo;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use demo::{Demo, WAIT, phone_reads, qr_link};
use mynaid_harness::browser::{Browser, BrowserOptions, Key};
use mynaid_testkit::person;
use serde_json::{Value, json};

/// The axe-core tags of WCAG 2.0, 2.1 and 2.2, levels A and AA.
const WCAG_TAGS: [&str; 6] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

/// The smallest target, in CSS px (WCAG 2.2, 2.5.8).
const MIN_TARGET: f64 = 24.0;

/// The desktop viewport.
const DESKTOP: (u32, u32) = (1280, 800);

/// The session lifetime of the server whose sessions the walk lets expire.
const SHORT_TTL_SECS: u64 = 6;

/// The session lifetime of the server whose page is watched while its session expires (time
/// enough to open the page first).
const EXPIRING_TTL_SECS: u64 = 5;

// ---------------------------------------------------------------------------------------
// axe-core, from the committed lock file.

/// `tests/axe` installed with `npm ci` (once per target directory, again when the lock
/// file's version of axe-core is not the one installed): axe's browser build.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("axe");
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["package.json", "package-lock.json"] {
            std::fs::copy(src.join(f), dir.join(f)).unwrap();
        }
        let lock: Value = serde_json::from_slice(&std::fs::read(dir.join("package-lock.json")).unwrap()).unwrap();
        let wanted = lock["packages"]["node_modules/axe-core"]["version"].clone();
        assert!(wanted.is_string(), "the lock file pins axe-core");
        let installed = std::fs::read(dir.join("node_modules/axe-core/package.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|p| p["version"].clone());
        if installed.as_ref() != Some(&wanted) {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
                .current_dir(&dir)
                .output()
                .expect("npm (Node.js) is installed: scripts/lib/node.sh");
            assert!(out.status.success(), "npm ci: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::read_to_string(dir.join("node_modules/axe-core/axe.min.js")).unwrap()
    })
}

/// Runs axe on the page: its violations, as JSON (`id`, `impact`, `help`, `nodes`).
fn axe(b: &Browser) -> Vec<Value> {
    let injected = b.execute(&format!("{}\n;return typeof window.axe;", axe_source()));
    assert_eq!(injected, "object", "axe-core is in the page");
    let result = b.execute_async(&format!(
        r##"var done = arguments[arguments.length - 1];
        window.axe.run(document, {{ runOnly: {{ type: "tag", values: {tags} }}, resultTypes: ["violations"] }})
          .then(function (r) {{
            done({{ violations: r.violations.map(function (v) {{
              return {{ id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(function (n) {{ return {{ target: n.target, summary: n.failureSummary }}; }}) }};
            }}) }});
          }})
          .catch(function (e) {{ done({{ error: String(e) }}); }});"##,
        tags = json!(WCAG_TAGS)
    ));
    assert!(result["error"].is_null(), "axe.run failed: {}", result["error"]);
    result["violations"].as_array().cloned().unwrap_or_default()
}

/// Every link, button, input (and other control) the page shows that is smaller than
/// 24×24 CSS px, but for links inline within a sentence: `(what, width, height)`.
fn small_targets(b: &Browser) -> Vec<(String, f64, f64)> {
    let found = b.execute(
        r##"var out = [];
        var controls = document.querySelectorAll(
          'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=link], [tabindex]:not([tabindex="-1"])');
        function describe(el) {
          var d = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
          if (el.className && typeof el.className === "string") { d += "." + el.className.trim().split(/\s+/).join("."); }
          var t = (el.textContent || el.value || "").trim().replace(/\s+/g, " ");
          return t ? d + " \"" + t.slice(0, 40) + "\"" : d;
        }
        // WCAG 2.5.8 "Inline": a link whose size is set by the line of text around it.
        function inSentence(el) {
          if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") { return false; }
          var block = el.parentElement;
          while (block && getComputedStyle(block).display === "inline") { block = block.parentElement; }
          if (!block) { return false; }
          var around = block.textContent.replace(el.textContent, "").trim();
          return around.length > 0;
        }
        controls.forEach(function (el) {
          if (el.getClientRects().length === 0) { return; }
          if (getComputedStyle(el).visibility === "hidden") { return; }
          if (inSentence(el)) { return; }
          var r = el.getBoundingClientRect();
          if (r.width < 24 || r.height < 24) {
            out.push([describe(el), Math.round(r.width * 10) / 10, Math.round(r.height * 10) / 10]);
          }
        });
        return out;"##,
    );
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t[0].as_str().unwrap().to_string(),
                t[1].as_f64().unwrap(),
                t[2].as_f64().unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The walk through every page type.

/// What the walk found.
#[derive(Debug, Default)]
struct Findings {
    /// Every page checked: `page (language, viewport)`.
    checked: Vec<String>,
    /// axe's violations, one line each.
    violations: Vec<String>,
    /// Targets below 24×24 px, one line each.
    small: Vec<String>,
}

/// One viewport's browser going through the pages in one language.
struct Walk<'a> {
    b: &'a Browser,
    viewport: &'static str,
    lang: &'static str,
    found: &'a mut Findings,
}

impl Walk<'_> {
    /// Checks the page the browser shows as `page`, whose `<html lang>` must be `lang`.
    fn check_in(&mut self, page: &str, lang: &str) {
        let b = self.b;
        let shown = b.execute("return document.documentElement.lang;");
        let place = format!("{page} ({}, {}) {}", self.lang, self.viewport, b.url());
        assert_eq!(shown, lang, "the language of {place}");
        for v in axe(b) {
            let mut line = format!(
                "{} [{}] {} — on {place}:",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("")
            );
            for n in v["nodes"].as_array().into_iter().flatten() {
                let _ = write!(line, "\n      {}", n["target"]);
                if let Some(s) = n["summary"].as_str() {
                    let _ = write!(line, ": {}", s.replace('\n', " "));
                }
            }
            self.found.violations.push(line);
        }
        for (what, w, h) in small_targets(b) {
            self.found.small.push(format!("{what}: {w}×{h} px — on {place}"));
        }
        // For a person to look at: MYNAID_A11Y_SCREENSHOTS=<directory>.
        if let Some(dir) = std::env::var_os("MYNAID_A11Y_SCREENSHOTS") {
            let name: String = format!("{page}-{}-{}", self.lang, self.viewport)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            b.screenshot(&Path::new(&dir).join(format!("{name}.png")));
        }
        self.found
            .checked
            .push(format!("{page} ({}, {})", self.lang, self.viewport));
    }

    /// Checks a page in the walk's language.
    fn check(&mut self, page: &str) {
        let lang = self.lang;
        self.check_in(page, lang);
    }
}

/// The reading device redeems `link`'s handle, as the phone app does: the HTTP status.
fn redeem(base: &str, link: &str) -> u16 {
    let handle = link
        .split("#h=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .expect("a handle in the link");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/handles/{handle}/redeem"))
            .json(&json!({ "reader": { "name": "mynaid-phone", "version": env!("CARGO_PKG_VERSION") }, "device": "phone_app" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// The session id in a `/s/{id}…` URL.
fn session_of(url: &str) -> String {
    url.split("/s/")
        .nth(1)
        .unwrap()
        .split(['/', '?', '#'])
        .next()
        .unwrap()
        .to_string()
}

/// Every page type, in `walk.lang`, as a person reaches it.
fn every_page(w: &mut Walk<'_>, demo: &Demo, short: &Demo) {
    let b = w.b;
    let base = &demo.base;
    // A session of the short-lived server, started now, to be seen expired at the end.
    let (expiring, expiring_url) = short.create_session("verify_identity");
    let expires = Instant::now() + Duration::from_secs(SHORT_TTL_SECS + 1);
    b.goto(&expiring_url);
    b.wait_for_url(&format!("/s/{expiring}"), WAIT);

    // The language is the browser's (Accept-Language).
    b.goto(&format!("{base}/"));
    w.check("home");

    // The portal, its consent page, the method choice.
    b.goto(&format!("{base}/portal"));
    b.wait_for_id("verify-identity", WAIT);
    w.check_in("portal", "ja");
    b.click("verify-identity");
    b.wait_for_id("consent-allow", WAIT);
    w.check("consent");
    b.click("consent-allow");
    b.wait_for_id("method-pc", WAIT);
    let id = session_of(&b.url());
    let method = format!("{base}/s/{id}");
    w.check("method choice");

    // Each pattern's page.
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    w.check("pattern 1: PC and IC card reader");
    b.goto(&method);
    b.wait_for_id("method-same", WAIT);
    b.click("method-same");
    b.wait_for_id("open-app", WAIT);
    w.check("pattern 3: smartphone only");
    b.goto(&method);
    b.wait_for_id("method-phone", WAIT);
    b.click("method-phone");
    b.wait_for_id("qr", WAIT);
    w.check("pattern 2: QR code");

    // The phone reads the card: the page asks for the code; then the confirmation page.
    let code = phone_reads(&qr_link(b), "p01");
    b.wait_for_css("#status[data-state='confirm_needed']", WAIT);
    w.check("pattern 2: confirmation code asked");
    b.goto(&format!("{method}/done"));
    b.wait_for_id("confirm-code", WAIT);
    w.check("confirmation code page");
    // Confirmed, the result page sends the person back to the service at once (so it has
    // no page of its own to check): the portal shows what was verified.
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    b.wait_for_id("verified", WAIT);
    w.check_in("portal: verified identity", "ja");

    // A reading that failed (the link was used by two devices), on the pattern's page and
    // on the result page.
    let (failing, failing_url) = demo.create_session("verify_identity");
    b.goto(&failing_url);
    b.wait_for_id("method-phone", WAIT);
    b.click("method-phone");
    b.wait_for_id("qr", WAIT);
    let link = qr_link(b);
    assert_eq!(redeem(base, &link), 200);
    assert_eq!(redeem(base, &link), 409, "a second device is refused");
    b.wait_for_css("#status[data-state^='failed']", WAIT);
    w.check("pattern 2: reading failed");
    b.goto(&format!("{base}/s/{failing}/done"));
    b.wait_for_css("main .status.bad", WAIT);
    w.check("result: failed");

    // Error pages: another browser (no cookie), a start link opened twice, an unknown
    // session, an authorization request that cannot start, a refused way back.
    b.delete_cookie(&format!("mynaid-{failing}"));
    b.goto(&format!("{base}/s/{failing}"));
    w.check("error: another browser");
    b.goto(&failing_url);
    w.check("error: start link already used");
    b.goto(&format!("{base}/s/{}/start?t=unknown", "0".repeat(32)));
    w.check("error: unknown session");
    b.goto(&format!(
        "{base}/oidc/authorize?client_id=unknown&response_type=code&scope=openid"
    ));
    b.wait_for_id("oidc-error", WAIT);
    w.check("error: cannot start");
    b.goto(&format!("{base}/return#{}", "x".repeat(43)));
    b.wait_for_css("#return-status.bad", WAIT);
    w.check("return: refused");

    // The "app needed" page.
    b.goto(&format!(
        "{base}/app/read#h={}&o=http%3A%2F%2F127.0.0.1",
        "y".repeat(43)
    ));
    b.wait_for_id("go-back", WAIT);
    w.check("app needed");

    // The session that expired meanwhile.
    if let Some(left) = expires.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
    b.goto(&format!("{}/s/{expiring}/done", short.base));
    b.wait_for_css("main .status.bad", WAIT);
    w.check("result: expired");
}

/// The page types the walk must have checked, in each language and viewport.
const PAGE_TYPES: usize = 19;

/// The walk through every page, in both languages at both viewports, once for the tests
/// that read it.
fn findings() -> &'static Findings {
    static FINDINGS: OnceLock<Findings> = OnceLock::new();
    FINDINGS.get_or_init(|| {
        let demo = Demo::with_portal(300);
        let short = Demo::start(SHORT_TTL_SECS);
        let mut found = Findings::default();
        for (viewport, mobile) in [("desktop 1280×800", false), ("phone 390×844", true)] {
            // A Japanese person's browser, then an English speaker's: the pages follow
            // Accept-Language.
            for (lang, accept) in [("ja", "ja,en"), ("en", "en")] {
                let b = Browser::with_options(BrowserOptions {
                    mobile,
                    viewport: (!mobile).then_some(DESKTOP),
                    accept_language: Some(accept.into()),
                    name: Some(format!(
                        "accessibility-{lang}-{}",
                        if mobile { "phone" } else { "desktop" }
                    )),
                });
                b.goto(&format!("{}/", demo.base));
                let want = if mobile {
                    (390, 844)
                } else {
                    (DESKTOP.0.into(), DESKTOP.1.into())
                };
                assert_eq!(b.viewport(), want, "the {viewport} viewport");
                let mut w = Walk {
                    b: &b,
                    viewport,
                    lang,
                    found: &mut found,
                };
                every_page(&mut w, &demo, &short);
            }
        }
        found
    })
}

#[test]
fn axe_finds_no_wcag_violation_on_any_page() {
    let found = findings();
    assert_eq!(
        found.checked.len(),
        PAGE_TYPES * 4,
        "every page type in two languages at two viewports: {:#?}",
        found.checked
    );
    assert!(
        found.violations.is_empty(),
        "{} WCAG 2.2 A/AA violation(s) found by axe-core:\n  {}",
        found.violations.len(),
        found.violations.join("\n  ")
    );
}

#[test]
fn every_target_is_at_least_24_by_24_px() {
    let found = findings();
    assert_eq!(found.checked.len(), PAGE_TYPES * 4, "{:#?}", found.checked);
    assert!(
        found.small.is_empty(),
        "{} target(s) smaller than {MIN_TARGET}×{MIN_TARGET} CSS px:\n  {}",
        found.small.len(),
        found.small.join("\n  ")
    );
}

/// The checks themselves find what they are for: a page without a language, an image
/// without a text alternative, an unlabelled field and a 16 px button.
#[test]
fn the_checks_find_a_bad_page() {
    let b = Browser::with_options(BrowserOptions {
        viewport: Some(DESKTOP),
        ..BrowserOptions::default()
    });
    b.goto(
        "data:text/html;charset=utf-8,<!doctype html><html><head><title>t</title></head><body><main>\
         <img src='x.png'><input type='text'><button style='width:16px;height:16px;padding:0'>x</button>\
         <p>An <a href='#'>inline link</a> in a sentence.</p></main></body></html>",
    );
    let ids: Vec<String> = axe(&b).iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
    for rule in ["html-has-lang", "image-alt", "label", "target-size"] {
        assert!(ids.contains(&rule.to_string()), "axe finds {rule}: {ids:?}");
    }
    let small = small_targets(&b);
    assert_eq!(
        small.len(),
        2,
        "the button and the unlabelled field, not the inline link: {small:?}"
    );
    assert!(
        small
            .iter()
            .any(|(what, w, h)| what.starts_with("button") && *w == 16.0 && *h == 16.0),
        "{small:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The keyboard alone, through pattern 2.

/// Records, for every element that can take the focus, its outline and box shadow while it
/// does not have it (call on each new page, before any focus moves).
fn record_unfocused(b: &Browser) {
    b.execute(
        r##"window.__unfocused = new Map();
        document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]').forEach(function (el) {
          var cs = getComputedStyle(el);
          window.__unfocused.set(el, [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow].join(" | "));
        });
        return window.__unfocused.size;"##,
    );
}

/// The element that has the focus: whether it matches the CSS selector `target`, its
/// description, and what is wrong with how it shows (nothing: `problems` is empty).
fn focused(b: &Browser, target: &str) -> (bool, String, Vec<String>) {
    let v = b.execute(&format!(
        "var target = {};\n{}",
        json!(target),
        r##"var el = document.activeElement;
        var problems = [];
        if (!el || el === document.body || el === document.documentElement) {
          return [false, "(nothing)", ["nothing has the focus"]];
        }
        var what = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " \"" + (el.textContent || "").trim().slice(0, 30) + "\"";
        var r = el.getBoundingClientRect();
        var cs = getComputedStyle(el);
        if (r.width < 1 || r.height < 1 || cs.visibility === "hidden" || parseFloat(cs.opacity) === 0) {
          problems.push("not visible (" + r.width + "×" + r.height + ")");
        }
        if (r.bottom <= 0 || r.right <= 0 || r.top >= window.innerHeight || r.left >= window.innerWidth) {
          problems.push("outside the viewport (" + JSON.stringify([r.left, r.top, r.right, r.bottom]) + ")");
        }
        var now = [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow].join(" | ");
        var before = window.__unfocused ? window.__unfocused.get(el) : undefined;
        if (before === undefined) {
          problems.push("its unfocused style was not recorded");
        } else if (before === now) {
          problems.push("looks the same with and without the focus: " + now);
        }
        var outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2;
        var shadow = cs.boxShadow !== "none";
        if (!outline && !shadow) {
          problems.push("no outline of 2 px or more and no box shadow: " + now);
        }
        // The ring against the page's background: at least 3:1 (WCAG 1.4.11).
        function luminance(color) {
          var c = (color.match(/[\d.]+/g) || ["0", "0", "0"]).slice(0, 3).map(function (v) {
            v = parseFloat(v) / 255;
            return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
          });
          return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        }
        if (outline) {
          var a = luminance(cs.outlineColor), bg = luminance(getComputedStyle(document.body).backgroundColor);
          var ratio = (Math.max(a, bg) + 0.05) / (Math.min(a, bg) + 0.05);
          if (ratio < 3) { problems.push("the ring's contrast is " + ratio.toFixed(2) + ":1 (" + cs.outlineColor + ")"); }
        }
        if (!el.matches(":focus-visible")) { problems.push("not :focus-visible"); }
        return [el.matches(target), what, problems];"##
    ));
    let problems = v[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    (v[0].as_bool().unwrap(), v[1].as_str().unwrap().to_string(), problems)
}

/// Presses Tab until the element matching `target` (a CSS selector) has the focus, checking
/// at every step that the focused element is visible and visibly marked. The elements passed
/// on the way, in order.
fn tab_to(b: &Browser, target: &str, failures: &mut Vec<String>) -> Vec<String> {
    let mut passed = Vec::new();
    for _ in 0..40 {
        let (there, what, problems) = focused(b, target);
        // Before the first Tab of a page nothing has the focus: not a failure.
        if what != "(nothing)" {
            for p in problems {
                failures.push(format!("{what} on {}: {p}", b.url()));
            }
            if there {
                return passed;
            }
            passed.push(what);
        }
        b.press(Key::Tab);
    }
    panic!("Tab never reached {target} on {}; it passed {passed:?}", b.url());
}

/// Tabs to `target` and presses `key` on it, on a page whose unfocused styles are recorded
/// first.
fn activate(b: &Browser, target: &str, key: Key, failures: &mut Vec<String>) -> Vec<String> {
    record_unfocused(b);
    let passed = tab_to(b, target, failures);
    b.press(key);
    passed
}

#[test]
fn pattern_2_completes_with_the_keyboard_alone_and_the_focus_always_shows() {
    let demo = Demo::with_portal(300);
    let b = Browser::with_options(BrowserOptions {
        viewport: Some(DESKTOP),
        ..BrowserOptions::default()
    });
    let mut failures = Vec::new();
    // The service's page, opened by its address; from here on only keys: Tab, Shift+Tab,
    // Enter, Space and the code's digits.
    b.goto(&format!("{}/portal", demo.base));
    b.wait_for_id("verify-identity", WAIT);
    activate(&b, "#verify-identity", Key::Enter, &mut failures);
    b.wait_for_id("consent-allow", WAIT);
    activate(&b, "#consent-allow", Key::Space, &mut failures);
    b.wait_for_id("method-phone", WAIT);
    let id = session_of(&b.url());

    // The method choice: Tab to "PC and smartphone"; Shift+Tab goes back and Tab forth again.
    record_unfocused(&b);
    let passed = tab_to(&b, "#method-phone", &mut failures);
    assert!(
        passed.iter().any(|p| p.starts_with("button#method-pc")),
        "the way there passes the first method: {passed:?}"
    );
    b.press_shifted(Key::Tab);
    let (back, what, problems) = focused(&b, "#method-pc");
    assert!(back, "Shift+Tab goes back to the previous method, not to {what}");
    failures.extend(problems);
    b.press(Key::Tab);
    assert!(focused(&b, "#method-phone").0, "and Tab forth again");
    b.press(Key::Enter);
    b.wait_for_id("qr", WAIT);
    assert!(b.url().contains(&id), "{}", b.url());
    record_unfocused(&b);

    // The phone side, as the person's phone does it.
    let code = phone_reads(&qr_link(&b), "p02");
    b.wait_for_css("#status[data-state='confirm_needed']", WAIT);
    // The page takes the focus to the code's field itself; else Tab finds it.
    tab_to(&b, "#confirm-code", &mut failures);
    b.type_keys(&code);
    assert_eq!(
        b.execute("return document.getElementById('confirm-code').value;"),
        code.as_str(),
        "the code was typed into the field"
    );
    tab_to(&b, "#confirm-submit", &mut failures);
    b.press(Key::Space);

    // Released: the result page sends the person back to the service, which shows the name.
    b.wait_for_id("verified", WAIT);
    assert_eq!(b.text("verified-name"), person("p02").name);
    assert!(b.url().ends_with("/portal"), "{}", b.url());
    // And the portal's controls are reachable and marked too.
    record_unfocused(&b);
    tab_to(&b, "#verify-identity", &mut failures);
    assert!(failures.is_empty(), "focus not visible:\n  {}", failures.join("\n  "));
}

// ---------------------------------------------------------------------------------------
// The live status region.

/// Starts logging every text the page's status region shows (a MutationObserver).
fn log_status(b: &Browser) {
    b.execute(
        r##"window.__said = [];
        var el = document.getElementById("status");
        new MutationObserver(function () {
          var t = el.textContent.trim();
          if (window.__said[window.__said.length - 1] !== t) { window.__said.push(t); }
        }).observe(el, { childList: true, characterData: true, subtree: true });"##,
    );
}

fn said(b: &Browser) -> Vec<String> {
    b.execute("return window.__said;")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The page's status region: present from the start, announced politely (`role=status` or
/// `aria-live`), not hidden; its text.
fn live_region(b: &Browser) -> String {
    let v = b.execute(
        r##"var el = document.getElementById("status");
        if (!el) { return null; }
        return { role: el.getAttribute("role"), live: el.getAttribute("aria-live"),
                 hidden: el.closest("[hidden],[aria-hidden=true]") !== null, text: el.textContent.trim() };"##,
    );
    assert!(!v.is_null(), "no #status region on {}", b.url());
    assert!(
        v["role"] == "status" || v["live"] == "polite" || v["live"] == "assertive",
        "#status is not a live region: {v}"
    );
    assert_eq!(v["hidden"], false, "{v}");
    let text = v["text"].as_str().unwrap().to_string();
    assert!(!text.is_empty(), "#status says nothing");
    text
}

/// A message of the page's live status, as its script shows it.
fn message(b: &Browser, key: &str) -> String {
    b.execute(&format!(
        "return JSON.parse(document.getElementById('live').getAttribute('data-messages'))[{}];",
        json!(key)
    ))
    .as_str()
    .unwrap_or_else(|| panic!("no message {key}"))
    .trim()
    .to_string()
}

#[test]
fn the_status_region_announces_each_change_of_the_session() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("verify_identity");
    let b = Browser::with_options(BrowserOptions {
        viewport: Some(DESKTOP),
        ..BrowserOptions::default()
    });
    b.goto(&url);
    // Every pattern's page has the region from the start.
    for (method, marker) in [("method-pc", "launch"), ("method-same", "open-app")] {
        b.goto(&format!("{}/s/{id}", demo.base));
        b.wait_for_id(method, WAIT);
        b.click(method);
        b.wait_for_id(marker, WAIT);
        live_region(&b);
    }
    b.goto(&format!("{}/s/{id}", demo.base));
    b.wait_for_id("method-phone", WAIT);
    b.click("method-phone");
    b.wait_for_id("qr", WAIT);
    let first = live_region(&b);
    log_status(&b);

    // The phone redeems the link: the page says the card is being read.
    let link = qr_link(&b);
    let reading = message(&b, "reading");
    assert_eq!(redeem(&demo.base, &link), 200);
    let now = b.wait_for_text("status", &reading, WAIT);
    assert_ne!(now, first, "the text changed");
    // (The live stream's first event may have said "waiting" again after the log began.)
    let waiting = message(&b, "waiting");
    let log = said(&b);
    assert_eq!(log.last(), Some(&reading), "{log:?}");
    assert!(log.iter().all(|t| *t == reading || *t == waiting), "{log:?}");

    // Read on another session's page the whole way (redeem, evidence): the code is needed.
    let (id2, url2) = demo.create_session("verify_identity");
    b.goto(&url2);
    b.wait_for_id("method-phone", WAIT);
    b.click("method-phone");
    b.wait_for_id("qr", WAIT);
    live_region(&b);
    log_status(&b);
    let confirm = message(&b, "confirm_needed");
    assert!(confirm.contains("確認コード"), "{confirm}");
    let code = phone_reads(&qr_link(&b), "p01");
    b.wait_for_text("status", &confirm, WAIT);
    let log = said(&b);
    assert_eq!(log.last(), Some(&confirm), "{log:?}");
    assert!(
        log.contains(&message(&b, "reading")),
        "the reading was announced before: {log:?}"
    );
    assert_eq!(live_region(&b), confirm);

    // A wrong code is announced as an alert; the right one moves the page on.
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    b.block_on(b.find("confirm-code").send_keys(&wrong)).unwrap();
    b.click("confirm-submit");
    let alert = b.wait_for_text("confirm-error", "確認コードが違います", WAIT);
    assert_eq!(b.attr("confirm-error", "role").as_deref(), Some("alert"), "{alert}");
    b.block_on(b.find("confirm-code").clear()).unwrap();
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    // The result page sends the person back to the service at once.
    b.wait_for_url(&format!("session={id2}"), WAIT);

    // A session that expires while its page is open: the region says so.
    let short = Demo::start(EXPIRING_TTL_SECS);
    let (_, url3) = short.create_session("verify_identity");
    b.goto(&url3);
    b.wait_for_id("method-pc", WAIT);
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    live_region(&b);
    log_status(&b);
    let expired = message(&b, "expired");
    b.wait_for_text("status", &expired, Duration::from_secs(EXPIRING_TTL_SECS + 10));
    assert_eq!(said(&b).last(), Some(&expired));
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("expired"));
}
