#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a short while, from seed corpora made from the
# committed test PKI. Fails if any target crashes, hangs or leaks past its limits.
#
#   scripts/fuzz-smoke.sh [SECONDS]     seconds per target, default 15
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); without one it falls back
# to RUSTC_BOOTSTRAP=1 with the default toolchain. Installs cargo-fuzz if it is missing.
# FUZZ_TARGETS="san tlv" limits the run to those targets.
# See docs/fuzzing.md.
set -euo pipefail

per_target="${1:-15}"
if ! [[ "$per_target" =~ ^[0-9]+$ ]] || [ "$per_target" -lt 1 ]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

# FUZZ_TARGETS="san tlv" runs only those.
read -r -a targets <<<"${FUZZ_TARGETS:-evidence_document cv_certificate integrity_record basic_info san apdu_command tlv link card_responses server_answers crl}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  echo "== no nightly toolchain: RUSTC_BOOTSTRAP=1 with $(rustc --version)"
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

echo "== seed corpora (fuzz/corpus, from fixtures/testpki)"
cargo run --quiet --example seeds -- corpus

echo "== building the targets"
"${fuzz[@]}" build

logs="$(mktemp -d)"
failed=()
summary=()
for target in "${targets[@]}"; do
  echo "== $target: ${per_target}s"
  extra=()
  # Documents may be up to 16 KiB; let the fuzzer try past the limit too.
  [ "$target" = evidence_document ] && extra+=(-max_len=17000)
  log="$logs/$target.log"
  if "${fuzz[@]}" run "$target" -- -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
    tail -n 40 "$log"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  summary+=("$(printf '%-18s %-7s %12s execs %9s execs/s' "$target" "$status" "${runs:-?}" "${speed:-?}")")
done

echo "== summary (${per_target}s per target; logs in $logs)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]} (reproducers in fuzz/artifacts/<target>/; see docs/fuzzing.md)" >&2
  exit 1
fi
