//! Dumps a running process's memory into CRIU's image format, then reads it back from the
//! images: the round trip a live-migration or memory-analysis tool makes.
//!
//! ```text
//! cargo run -p criu-image --features procmem --example dump_live -- /tmp/memdump 'hello from the child'
//! pid 48213: 41 pages in /tmp/memdump (pagemap-48213.img, pages-1.img); read back "hello from the child" at 0x55d0c1a3b2c0
//! ```
//!
//! The program starts a copy of itself as the target, which puts a marker in its heap, says
//! where, and waits. `procmem::dump` copies the target's private memory with
//! `process_vm_readv` through a bounded buffer (4 MiB by default, whatever the target's size)
//! into `pagemap-<pid>.img` and `pages-1.img`, as `criu dump` would write them. That directory
//! holds only those two images, which is enough for `memory::Memory`: without an mm image, the
//! pagemap's runs are the task's known memory. Reading another user's process needs root (or
//! `CAP_SYS_PTRACE`); a child of the same user is readable under the default Yama policy.
//!
//! A target that runs while it is dumped gives a fuzzy image; stop it (`SIGSTOP`, a cgroup
//! freezer) for a consistent one. This one only waits on its stdin, so its memory holds still.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use criu_image::checkpoint::Checkpoint;
use criu_image::memory::Memory;
use criu_image::procmem::{self, DumpOptions};

/// The target: keeps `marker` in its heap, prints its address, and waits for its stdin to close.
fn child(marker: &str) -> ! {
    let bytes: &'static mut [u8] = Box::leak(marker.as_bytes().to_vec().into_boxed_slice());
    println!("{:#x}", bytes.as_ptr() as usize);
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    std::hint::black_box(bytes);
    std::process::exit(0)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Display, not Debug: each error's message says what happened and where.
            eprintln!("dump_live: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, marker] = &args[..]
        && flag == "--child"
    {
        child(marker);
    }
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: dump_live OUTPUT_DIR [MARKER]");
        std::process::exit(2);
    };
    let marker = args
        .get(1)
        .map_or("a marker in the child's heap", String::as_str);

    let mut target = Command::new(std::env::current_exe()?)
        .args(["--child", marker])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = target.id();
    let mut line = String::new();
    BufReader::new(target.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let addr = u64::from_str_radix(line.trim().trim_start_matches("0x"), 16)?;

    std::fs::create_dir_all(&dir)?;
    let dumped = procmem::dump(
        pid as i32,
        &dir,
        &DumpOptions::default(),
        &mut |_progress| {},
    );
    // Let the target go (its stdin closes) whatever happened, and reap it.
    drop(target.stdin.take());
    target.wait()?;
    let summary = dumped?;

    // Read it back: the directory is a checkpoint of one task's memory.
    let ckpt = Checkpoint::open(&dir)?;
    let task = Memory::open(&ckpt).task(pid)?;
    let back = task.read(addr, marker.len() as u64)?;
    if back != marker.as_bytes() {
        return Err(format!(
            "read {:?} back at {addr:#x}, not the marker",
            String::from_utf8_lossy(&back)
        )
        .into());
    }
    let name = |p: &std::path::Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    println!(
        "pid {pid}: {} pages in {} ({}, {}); read back {marker:?} at {addr:#x}",
        summary.pages_written,
        dir.display(),
        name(&summary.pagemap_path),
        name(&summary.pages_path)
    );
    Ok(())
}
