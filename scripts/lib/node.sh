# Sourced by the scripts: Node.js with npm, for the test that runs a relying party on an
# OpenID-certified npm library (crates/server/tests/certified_rp.rs; the test installs the
# library itself from its lock file).
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
