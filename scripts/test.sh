#!/usr/bin/env bash
# The project's test command (what CI runs, after .ci/run has installed the prerequisites):
#   1. cargo xtask criu           real CRIU and CRIU's reference crit in target/criu/bin
#                                 (idempotent: instant when already built; builds it otherwise)
#   2. cargo xtask zdtm           CRIU's own test suite (ZDTM) built and run with images kept, and
#                                 what CRIU's crit says about them, in target/zdtm/ (the corpus of
#                                 runtime/tests/zdtm_*.rs; idempotent: instant when it has run)
#   3. cargo xtask regen --check  the generated code matches proto/ (fails if stale)
#   4. benches and fuzz targets   type-checked (not built or run), so they cannot rot unnoticed
#                                 (`cargo check`: a release build of the benches cost CI ~4 min)
#   5. cargo doc                  the library crates' docs, warnings as errors (deny(missing_docs))
#   6. cargo test --workspace     all crates' tests
# ZDTM_CORRUPT_SETS=N bounds runtime/tests/zdtm_corruption.rs to N of the corpus's sets (all by default).
# Tests find the CRIU tools through $CRIU and $CRIT_REF (exported here; set them to override).
# Usage: scripts/test.sh    (from anywhere; extra arguments are passed to `cargo test`)
set -Eeuo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
start=$(date +%s)
step() { printf '\n==> [test.sh +%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
trap 'rc=$?; printf "\nscripts/test.sh: FAILED (exit %s) at: %s\n" "$rc" "$BASH_COMMAND" >&2' ERR

command -v cargo >/dev/null || { echo "scripts/test.sh: cargo not found on PATH" >&2; exit 1; }
# Tests dump real processes with CRIU, and `cargo xtask criu` may need to apt-get install.
[ "$(id -u)" -eq 0 ] || { echo "scripts/test.sh: must run as root (tests dump real processes with CRIU)" >&2; exit 1; }

step "cargo xtask criu"
cargo xtask criu
export CRIU="${CRIU:-$root/target/criu/bin/criu}"
export CRIT_REF="${CRIT_REF:-$root/target/criu/bin/crit-ref}"
echo "CRIU=$CRIU"
echo "CRIT_REF=$CRIT_REF"

step "cargo xtask zdtm (CRIU's ZDTM suite as our corpus)"
cargo xtask zdtm

step "cargo xtask regen --check"
cargo xtask regen --check

step "cargo check of the benches (benches compile)"
cargo check -p criu-image-benches --benches

step "cargo check of fuzz/ (fuzz targets compile)"
cargo check --manifest-path fuzz/Cargo.toml --bins

# Last, so that its summary closes the output.
step "cargo doc of the library crates (missing docs and broken links are errors)"
RUSTDOCFLAGS=-Dwarnings cargo doc -p criu-image-proto -p criu-image --no-deps
RUSTDOCFLAGS=-Dwarnings cargo doc -p criu-image --features full --no-deps

step "cargo test --workspace $*"
cargo test --workspace "$@"

echo
echo "scripts/test.sh: all tests passed in $(( $(date +%s) - start ))s"
