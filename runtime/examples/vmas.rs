//! Shows a process's memory map with each VMA's name and how many of its pages the checkpoint
//! holds, like `/proc/PID/smaps`'s `Rss:` for a process that is not running any more.
//!
//! ```text
//! cargo run -p criu-image --example vmas -- testdata/images/sleep 20292
//! START            END              PERMS     PAGES  DUMPED NAME
//! 55fc46dc2000     55fc46dc4000     r--p          2       0 /usr/bin/sleep
//! ...
//! 7ffcfef7b000     7ffcfef9c000     rw-p         33       3 [stack]
//! ```
//!
//! The VMAs come from `mm-<pid>.img`, the objects they map from `files.img` (paths of file
//! mappings, memfd names, shared-memory ids). "Dumped" counts the pages of the VMA that entries
//! of `pagemap-<pid>.img` cover: CRIU writes a private anonymous page only once it was touched,
//! and a private file page only once it was written (copied on write); every other page comes
//! back from zeros or from the file at restore.

use std::path::PathBuf;
use std::process::ExitCode;

use criu_image::checkpoint::Checkpoint;
use criu_image::model::Backing;

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmas: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(pid)) = (
        args.next().map(PathBuf::from),
        args.next().and_then(|p| p.to_str()?.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: vmas CHECKPOINT_DIR PID");
        std::process::exit(2);
    };
    let ckpt = Checkpoint::open(&dir)?;
    let Some(process) = ckpt.process(pid)? else {
        eprintln!("{}: no process {pid} in pstree.img", dir.display());
        std::process::exit(1);
    };
    // The index of the task's pagemap, shared by every reader of this checkpoint (and of its
    // parent checkpoints, for an incremental dump). `None`: no pagemap image, nothing dumped.
    let pagemap = process.pagemap()?;
    println!(
        "{:<16} {:<16} {:<5} {:>9} {:>7} NAME",
        "START", "END", "PERMS", "PAGES", "DUMPED"
    );
    let (mut total, mut dumped) = (0u64, 0u64);
    for vma in process.vmas()? {
        let resident = pagemap.map_or(0, |idx| idx.pages_in(vma.start, vma.end));
        // What a page that is not dumped holds at restore.
        let rest = match vma.backing() {
            Backing::Anon => "",
            Backing::File { .. } => " (rest from the file)",
            Backing::Shmem { .. } => " (shared memory)",
            Backing::Kernel(_) => " (provided by the kernel)",
        };
        println!(
            "{:<16x} {:<16x} {:<5} {:>9} {:>7} {}{rest}",
            vma.start,
            vma.end,
            String::from_utf8_lossy(&vma.perms()),
            vma.pages(),
            resident,
            vma.name_lossy(),
        );
        total += vma.pages();
        dumped += resident;
    }
    println!("{total} pages mapped, {dumped} dumped");
    Ok(())
}
