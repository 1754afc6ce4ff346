#!/usr/bin/env bash
# Runs the demo (`mynaid demo`). Works on a fresh Debian machine as root: installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/rust.sh
. scripts/lib/pcsc.sh
ensure_rust
ensure_pcsc_packages
cargo build --release --locked -p mynaid
exec target/release/mynaid demo "$@"
