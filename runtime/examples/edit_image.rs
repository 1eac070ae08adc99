//! Changes one field of an image and writes the image back: here, the command name (`comm`) a
//! task is restored with, in its `core-<pid>.img`.
//!
//! ```text
//! cargo run -p criu-image --example edit_image -- testdata/images/sleep/core-20292.img /tmp/core-20292.img napping
//! core-20292.img: comm "sleep" -> "napping"; 2611 -> 2613 bytes
//! ```
//!
//! `OwnedImage` decodes every entry into an owned message (here `proto::owned::CoreEntry`)
//! with the payload bytes that follow it, checked against the image's kind: a `core` message
//! type on an `mm` image is an error, not garbage. Entries that were not changed are written
//! back with their original bytes, so editing one field changes nothing else (with the same name
//! given, the output is byte-identical to the input).

use std::path::PathBuf;
use std::process::ExitCode;

use criu_image::edit::OwnedImage;
use criu_image::proto::owned;

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edit_image: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(output), Some(comm)) = (
        args.next().map(PathBuf::from),
        args.next().map(PathBuf::from),
        args.next(),
    ) else {
        eprintln!("usage: edit_image CORE_IMAGE OUTPUT NEW_COMM");
        std::process::exit(2);
    };
    let comm = comm.into_encoded_bytes();
    // The kernel keeps at most 15 bytes of a command name (TASK_COMM_LEN is 16, with the NUL).
    if comm.len() > 15 {
        eprintln!("a command name has at most 15 bytes");
        std::process::exit(2);
    }
    let bytes = std::fs::read(&input)?;
    let name = input.file_name().and_then(|n| n.to_str());
    let mut core = OwnedImage::<owned::CoreEntry>::decode(&bytes, name)?;

    // A core image has one entry; the task-wide part (`tc`) is only in the main thread's core.
    let Some(tc) = core.entries.first_mut().and_then(|e| e.message.tc.as_mut()) else {
        eprintln!(
            "{}: not the core of a task's main thread (no task core)",
            input.display()
        );
        std::process::exit(1);
    };
    let old = std::mem::replace(&mut tc.comm, comm);
    let new = String::from_utf8_lossy(&tc.comm).into_owned();

    // Encoding checks that the result frames as the kind requires before returning it.
    let edited = core.encode()?;
    std::fs::write(&output, &edited)?;
    println!(
        "{}: comm {:?} -> {new:?}; {} -> {} bytes",
        name.unwrap_or("image"),
        String::from_utf8_lossy(&old),
        bytes.len(),
        edited.len()
    );
    Ok(())
}
