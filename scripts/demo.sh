#!/usr/bin/env bash
# Runs the demo (`mynaid-server demo`). Works on a fresh Debian machine as root: installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/rust.sh
. scripts/lib/pcsc.sh
ensure_rust
ensure_pcsc_packages
# Both binaries: the operator's tool runs the demo, the reader app reads the emulated cards
# (the pages show its command with its full path).
cargo build --release --locked -p mynaid -p mynaid-server
exec target/release/mynaid-server demo "$@"
