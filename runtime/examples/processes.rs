//! Lists the processes of a checkpoint with their state and command line, as `ps` would.
//!
//! ```text
//! cargo run -p criu-image --example processes -- testdata/images/proctree
//!     PID    PPID STATE    COMM             COMMAND
//!   20374       0 alive    bash             /bin/bash /tmp/criu-fixture/bin/tree.sh
//!   20375   20374 alive    sleep            sleep 1000
//! ...
//! ```
//!
//! The state and the command name come from each task's `core-<pid>.img`; the command line is
//! not in any image as such: it is read from the task's memory (the `argv` strings at
//! `mm_arg_start..mm_arg_end`, found through the pagemap in `pages-<id>.img`).

use std::path::PathBuf;
use std::process::ExitCode;

use criu_image::checkpoint::Checkpoint;
use criu_image::memory::quote_args;

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("processes: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: processes CHECKPOINT_DIR");
        std::process::exit(2);
    };
    // Opening lists the directory; images are mapped and parsed only when first asked for.
    let ckpt = Checkpoint::open(&dir)?;
    println!(
        "{:>7} {:>7} {:<8} {:<16} COMMAND",
        "PID", "PPID", "STATE", "COMM"
    );
    // `pstree.img` order; `Processes::tree_order` gives the parent-before-children order crit
    // shows, with each task's depth.
    for p in ckpt.processes()?.iter() {
        // `None` when the core image is missing or corrupt: show what there is and go on.
        let state = p.state().map_or_else(|| "?".to_string(), |s| s.to_string());
        let comm = String::from_utf8_lossy(p.comm().unwrap_or(b"?"));
        // A zombie has no memory, and a damaged pagemap cannot be read: say why instead.
        let command = match p.cmdline() {
            Ok(argv) => quote_args(&argv),
            Err(e) => format!("[{comm}: {e}]"),
        };
        println!(
            "{:>7} {:>7} {state:<8} {comm:<16} {command}",
            p.pid(),
            p.ppid()
        );
    }
    Ok(())
}
