#!/usr/bin/env bash
# Runs every benchmark and prints the figures (BENCHMARKS.md holds the latest results).
#
#   scripts/bench.sh            all of them
#   scripts/bench.sh card       only those whose name contains "card" (card_routes, ...)
#
# Installs what it needs like scripts/test.sh (pcscd + vpcd for the PC/SC bench,
# PostgreSQL for the multi-instance throughput). Benchmarks build in release with thin LTO:
# the first run compiles for several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/rust.sh
. scripts/lib/pcsc.sh
ensure_rust
ensure_pcsc_packages
if [ -f scripts/lib/postgres.sh ]; then
  . scripts/lib/postgres.sh
  ensure_postgres
fi
. scripts/lib/node.sh
ensure_node

filter="${1:-}"
# package:bench, in the order of BENCHMARKS.md.
benches=(
  mynaid-testkit:card_routes
  mynaid:pcsc_stack
  mynaid-evidence:verify
  mynaid-server:throughput
  mynaid-server:soak
  mynaid-server:notify
  mynaid-server:sse_memory
  mynaid-server:oidc
  mynaid-server:link_status
)

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB; $(rustc --version)"
for entry in "${benches[@]}"; do
  pkg="${entry%%:*}"
  bench="${entry##*:}"
  [[ -n "$filter" && "$bench" != *"$filter"* ]] && continue
  if ! grep -q "name = \"$bench\"" crates/*/Cargo.toml; then
    echo "== $bench: not in this checkout, skipped"
    continue
  fi
  echo "== $bench ($pkg)"
  cargo bench --locked -p "$pkg" --bench "$bench"
done
