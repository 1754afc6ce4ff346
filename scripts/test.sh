#!/usr/bin/env bash
# Runs the whole test suite. Works on a fresh Debian machine as root: installs what it needs
# (Rust, pcscd + vpcd + OpenSC, Chromium + chromedriver, PostgreSQL on 127.0.0.1:5432,
# Node.js with npm; the tests that use npm packages — axe-core, a certified OpenID relying
# party — install them with `npm ci` from their committed lock files). The
# PC/SC tests start and restart pcscd themselves, with the project's reader configuration
# (scripts/pcsc/reader.conf.d), one test at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/rust.sh
. scripts/lib/pcsc.sh
. scripts/lib/browser.sh
. scripts/lib/postgres.sh
. scripts/lib/node.sh
ensure_rust
ensure_pcsc_packages
ensure_postgres
ensure_browser_packages
ensure_node
cargo test --workspace --locked "$@"
