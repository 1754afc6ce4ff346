# Sourced by the scripts: headless Chromium and its WebDriver for the browser tests
# (crates/testkit/src/browser.rs), from Debian's packages. The CJK fonts make the failure
# screenshots (target/browser-artifacts) readable.
ensure_browser_packages() {
    if ! dpkg -s chromium chromium-driver fonts-noto-cjk >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends \
            chromium chromium-driver fonts-noto-cjk >/dev/null
    fi
}
