#!/usr/bin/env bash
# A short run of every fuzz target (CI runs this from .ci/run): build the targets with cargo-fuzz
# (RUSTC_BOOTSTRAP=1 lets a stable toolchain use the sanitizer flags), write the seed corpora from
# the fixtures and the ZDTM corpus (fuzz/src/bin/seeds.rs), then run each target for
# $FUZZ_SECONDS seconds (default 30). A crash, a leak or a timeout fails the script and leaves the
# input in fuzz/artifacts/<target>/.
# Usage: fuzz/short-runs.sh [TARGET...]   (default: every target)
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${FUZZ_SECONDS:-30}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode encode archive build_id checkpoint pagemap netlink page_server)
command -v cargo-fuzz >/dev/null || { echo "fuzz/short-runs.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2; exit 1; }

start=$(date +%s)
RUSTC_BOOTSTRAP=1 cargo fuzz build
echo "fuzz targets built in $(( $(date +%s) - start ))s"
bin=target/x86_64-unknown-linux-gnu/release
"$bin/seeds"
# Inputs larger than these add run time, not paths (see fuzz/README.md).
declare -A max_len=([decode]=65536 [encode]=65536 [archive]=32768 [build_id]=4096 [checkpoint]=32768 [pagemap]=32768)
# page_server writes each session's images to a scratch directory: on tmpfs that is ~20x faster.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=${TMPDIR:-/dev/shm}
printf '%-11s %10s %8s %6s %7s\n' target runs seconds cov ft
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log=$(mktemp)
  s=$(date +%s)
  if ! "$bin/$t" "corpus/$t" -max_total_time="$secs" -max_len="${max_len[$t]:-65536}" -timeout=20 \
      -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz/short-runs.sh: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-11s %10s %8s %6s %7s\n' "$t" "$runs" "$(( $(date +%s) - s ))" "$cov" "$ft"
  rm -f "$log"
done
echo "fuzz/short-runs.sh: ${#targets[@]} targets, no crash, in $(( $(date +%s) - start ))s"
