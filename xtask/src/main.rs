//! Project automation: `cargo xtask <command>`.
//!
//! - `regen [--check]`: regenerate `generated/src/gen/` from `proto/` (or fail if stale)
//! - `sync-protos DIR`: copy CRIU's `images/*.proto` and LICENSE from a CRIU source tree into `proto/`
//! - `criu [--prefix DIR]`: fetch CRIU's source from Debian and build `criu` and reference `crit-ref`
//! - `big-checkpoint DIR`: dump, with real CRIU, a process holding tens of thousands of VMAs and
//!   thousands of fds (for measurements)
//! - `man [--check]`: the man pages and shell completions in `crit/dist/` (or fail if stale)
//! - `dist`: the statically linked release `crit` we ship and measure, at `target/dist/crit`
//! - `compare-crit DIR`: time our `crit` (the `dist` build) against CRIU's on every image of DIR
//! - `compare-inspect DIR`: `crit inspect --all` against checkpointctl on Podman-layout archives of
//!   DIR (tar, tar.gz, and a tar with a larger pages file)
//! - `zdtm [--force]`: build and run CRIU's ZDTM test suite with images kept, and record what CRIU's
//!   crit says about them, in `target/zdtm/` (the corpus of `runtime/tests/zdtm_corpus.rs`)

use std::path::{Path, PathBuf};

mod bigckpt;
mod compare;
mod compare_inspect;
mod criu;
mod dist;
mod man;
mod protos;
mod regen;
mod zdtm;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{}", USAGE);
        std::process::exit(2);
    };
    match cmd.as_str() {
        "regen" => regen::run(rest),
        "sync-protos" => protos::run(rest),
        "criu" => criu::run(rest),
        "dist" => dist::run(rest),
        "man" => man::run(rest),
        "big-checkpoint" => bigckpt::run(rest),
        "compare-crit" => compare::run(rest),
        "compare-inspect" => compare_inspect::run(rest),
        "zdtm" => zdtm::run(rest),
        "-h" | "--help" | "help" => {
            println!("{}", USAGE);
            Ok(())
        }
        other => anyhow::bail!("unknown command `{other}`\n{USAGE}"),
    }
}

const USAGE: &str = "usage: cargo xtask <regen [--check] | sync-protos CRIU_SRC | criu [--prefix DIR] | man [--check] | dist | big-checkpoint DIR | compare-crit DIR | compare-inspect DIR | zdtm [--force]>";

/// The workspace root (xtask lives one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}
