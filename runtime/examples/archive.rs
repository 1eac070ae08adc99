//! Lists the processes of a checkpoint archive as Podman, CRI-O and the kubelet write them
//! (`podman container checkpoint --export`): a tar, plain or compressed with gzip or zstd.
//!
//! ```text
//! cargo run -p criu-image --features archive --example archive -- /tmp/checkpoint.tar.gz
//! /tmp/checkpoint.tar.gz: a tar.gz archive, 13 images, other members: config.dump, spec.dump
//!     PID    PPID STATE    COMMAND
//!   20292       0 alive    /bin/sleep 1000
//! ```
//!
//! The archive is recognised by its first bytes, not its name. Nothing is extracted: a plain
//! tar is mapped and its members are slices of the mapping; a compressed one is decompressed
//! once into memory (at most `OpenOptions::max_decompressed` bytes, 4 GiB by default). The images
//! are the members under `checkpoint/` (or the directory holding `pstree.img`); the other
//! members are the engine's own files. After opening, an archive is a checkpoint like a
//! directory: the same model, the same memory reads.

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
            eprintln!("archive: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: archive CHECKPOINT_ARCHIVE");
        std::process::exit(2);
    };
    let ckpt = Checkpoint::open(&path)?;
    let extras: Vec<&str> = ckpt.extra_names().collect();
    println!(
        "{}: a {} archive, {} images, other members: {}",
        path.display(),
        ckpt.format(),
        ckpt.names().count(),
        if extras.is_empty() {
            "none".to_string()
        } else {
            extras.join(", ")
        }
    );
    println!("{:>7} {:>7} {:<8} COMMAND", "PID", "PPID", "STATE");
    for p in ckpt.processes()?.iter() {
        let state = p.state().map_or_else(|| "?".to_string(), |s| s.to_string());
        let command = match p.cmdline() {
            Ok(argv) => quote_args(&argv),
            Err(e) => format!("[{e}]"),
        };
        println!("{:>7} {:>7} {state:<8} {command}", p.pid(), p.ppid());
    }
    Ok(())
}
