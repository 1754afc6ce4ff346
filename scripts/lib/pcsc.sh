# Sourced by the scripts: the PC/SC stack for tests and the reader app — pcscd with
# vsmartcard's vpcd virtual reader, OpenSC as an independent client.
ensure_pcsc_packages() {
    if ! dpkg -s pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends \
            pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc pkg-config iproute2 >/dev/null
    fi
}
