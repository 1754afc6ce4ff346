# Sourced by the scripts: Node.js with npm, for the tests that use npm packages, each
# installing its own from a committed lock file with `npm ci`: a relying party on an
# OpenID-certified library (crates/server/tests/certified_rp.rs) and axe-core, the
# accessibility rules run in Chromium on every page (crates/server/tests/browser_accessibility.rs).
#
# ensure_node: nothing to do when `node` (18 or later) and `npm` are on PATH; otherwise, as
# root on Debian, installs Debian's nodejs and npm. Idempotent.

ensure_node() {
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ]; then
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
}
