//! Prints the bytes of a checkpointed process's memory at an address, `hexdump -C` style.
//!
//! ```text
//! cargo run -p criu-image --example read_memory -- testdata/images/sleep 20292 0x7ffcfef9bf99
//! 7ffcfef9bf99  2f 62 69 6e 2f 73 6c 65  65 70 00 31 30 30 30 00  |/bin/sleep.1000.|
//! ...
//! ```
//!
//! An address is looked up in the task's VMAs (`mm-<pid>.img`), then in its pagemap
//! (`pagemap-<pid>.img`: which pages `pages-<id>.img` holds, and in which order), following
//! `parent` links of incremental dumps and shared-memory pagemaps as needed. A page that was not
//! dumped reads as zeros when it is private anonymous memory; bytes that only the mapped file
//! (or the kernel) has are an error that says so.

use std::path::PathBuf;
use std::process::ExitCode;

use criu_image::checkpoint::Checkpoint;
use criu_image::memory::Memory;

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("read_memory: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(pid), Some(addr)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<u32>().ok()),
        args.get(2).and_then(|s| parse_u64(s)),
    ) else {
        eprintln!(
            "usage: read_memory CHECKPOINT_DIR PID ADDRESS [LENGTH]   (LENGTH defaults to 64)"
        );
        std::process::exit(2);
    };
    let len = args.get(3).and_then(|s| parse_u64(s)).unwrap_or(64);

    let ckpt = Checkpoint::open(&dir)?;
    // Indexing a task sorts its VMAs and pagemap runs once; reads are binary searches.
    let task = Memory::open(&ckpt).task(pid)?;
    // All or nothing: either every byte is readable, or the error names the first one that is
    // not, its VMA and why (unmapped, only in the file, a lazy page, a missing parent dump).
    let bytes = task.read(addr, len)?;
    for (i, line) in bytes.chunks(16).enumerate() {
        let mut hex = String::new();
        for (j, b) in line.iter().enumerate() {
            let gap = match j {
                0 => "",
                8 => "  ",
                _ => " ",
            };
            hex.push_str(&format!("{gap}{b:02x}"));
        }
        let text: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        println!("{:x}  {hex:<48}  |{text}|", addr + 16 * i as u64);
    }
    Ok(())
}
