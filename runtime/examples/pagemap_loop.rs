//! Walks a pagemap image entry by entry without allocating: views over the mapped file, no
//! `Vec`, no `String`. This is the layer to use for a hot loop over big images (a checkpoint of a
//! large process has pagemaps of hundreds of thousands of entries).
//!
//! ```text
//! cargo run -p criu-image --example pagemap_loop -- testdata/images/sleep/pagemap-20292.img
//! pages_id 1
//! 55fc46dc4000 1 present
//! ...
//! 12 entries, 31 pages, 31 present; 0 allocations in the loop
//! ```
//!
//! `Image::typed` checks that the image is a pagemap (by its magic) and gives each entry as a
//! `proto::view::PagemapEntry`: the message is checked once, and its accessors return numbers.
//! To prove the point, this program counts the allocations made while it loops, with a global
//! allocator that counts calls, and prints the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use criu_image::image::{Image, Role};
use criu_image::pagemap::{self, PE_LAZY, PE_PARENT, PE_PRESENT};
use criu_image::proto::view;
use criu_image::source::Source;

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pagemap_loop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: pagemap_loop PAGEMAP_IMAGE");
        std::process::exit(2);
    };
    // The file is mapped, not read: entries and views borrow the mapping.
    let file = Source::open(&path)?;
    let img = Image::parse(&file, path.file_name().and_then(|n| n.to_str()))?;
    // Entry 0 of a pagemap is its head: which pages file holds the data.
    if let Some(head) = img
        .entries()
        .next()
        .transpose()?
        .filter(|e| e.role == Role::PagemapHead)
    {
        println!(
            "pages_id {}",
            head.view::<view::PagemapHead<'_>>()?.pages_id()
        );
    }
    // Lock stdout once (its buffer is allocated here, before counting starts).
    let mut out = std::io::stdout().lock();
    out.flush()?;

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let (mut entries, mut pages, mut present) = (0u64, 0u64, 0u64);
    // Every entry after the head, as a view; the first framing or decoding error ends the loop.
    for entry in img.typed::<view::PagemapEntry<'_>>()? {
        let (_, e) = entry?;
        // CRIU's rules for images of every version: `nr_pages` (or the pre-4.2
        // `compat_nr_pages`), and `flags` (or the old `in_parent`).
        let (n, flags) = (pagemap::nr_pages(&e), pagemap::flags(&e));
        let what = match flags {
            f if f & PE_PARENT != 0 => "parent",
            f if f & PE_PRESENT != 0 && f & PE_LAZY != 0 => "present lazy",
            f if f & PE_PRESENT != 0 => "present",
            _ => "lazy",
        };
        writeln!(out, "{:x} {n} {what}", e.vaddr())?;
        entries += 1;
        pages += n;
        if flags & PE_PRESENT != 0 {
            present += n;
        }
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    writeln!(
        out,
        "{entries} entries, {pages} pages, {present} present; {allocations} allocations in the loop"
    )?;
    Ok(())
}
