#!/usr/bin/env bash
# Demo: build our `crit` (release) and read the bundled sample checkpoint with it.
#   scripts/demo.sh [CHECKPOINT_DIR]     (default: testdata/images/sleep, a dumped `sleep 1000`)
# Shows the process tree image, the process list, and each process's open files.
# Needs only the Rust toolchain; works from any directory.
set -Eeuo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "demo: $*" >&2; exit 1; }

# Resolve a given checkpoint directory before changing directory, so a relative path means what
# the user meant.
if [ $# -gt 0 ]; then
  [ -d "$1" ] || die "no such directory: $1"
  dir=$(cd "$1" && pwd)
else
  dir=testdata/images/sleep   # relative to $root, where the commands run
  [ -d "$root/$dir" ] || die "$root/$dir is missing (is this a complete clone?)"
fi
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs)"

cd "$root"
[ -f "$dir/pstree.img" ] || die "$dir has no pstree.img: not a CRIU checkpoint directory"
echo "==> cargo build --release -p crit"
cargo build --release -p crit || die "building crit failed"

# cargo puts binaries under $CARGO_TARGET_DIR when it is set (relative to where cargo runs).
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac
crit="$target/release/crit"
[ -x "$crit" ] || die "built crit not found at $crit"

run() {
  printf '\n$ crit %s\n' "$*"
  "$crit" "$@" || die "crit $* failed (exit $?)"
}
run show "$dir/pstree.img"
run x "$dir" ps
run x "$dir" fds
echo
echo "demo: done (crit is at $crit; try \`$crit --help\`)"
