# Sourced by the scripts: make sure a Rust toolchain is there (installs rustup on a fresh
# Debian machine) and the C toolchain the crates need.
ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cc >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq build-essential curl ca-certificates pkg-config git >/dev/null
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
}
