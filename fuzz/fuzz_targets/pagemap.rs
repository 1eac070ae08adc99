//! The pagemap index and memory reads: one task (pid 1) whose `mm-1.img`, `pagemap-1.img` and
//! pages file come from the fuzz input (records as in `criu_image_fuzz::split_files`: the first
//! three bodies, in that order; seeds are real tasks' images), then reads chosen by the fourth
//! record (each 8 bytes: VMA index, offset into it, length) plus the command line and
//! environment. Every read must give bytes of the asked length or a typed error.
#![no_main]

use std::sync::OnceLock;

use criu_image::image::{Image, ImageWriter, Kind, Role};
use criu_image::memory;
use criu_image::proto::{owned, view};
use libfuzzer_sys::fuzz_target;

/// `pstree.img` with one task, pid 1.
fn pstree() -> &'static [u8] {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(|| {
        let mut w = ImageWriter::new(Vec::new(), Kind::Pstree).unwrap();
        let e = owned::PstreeEntry { pid: 1, ppid: 0, pgid: 1, sid: 1, threads: vec![1], ..Default::default() };
        w.write_message(&e).unwrap();
        w.into_inner()
    })
}

fuzz_target!(|data: &[u8]| {
    let recs = criu_image_fuzz::split_files(data);
    let body = |i: usize| recs.get(i).map_or(&[][..], |r| r.1);
    let (mm, pm, pages, ops) = (body(0), body(1), body(2), body(3));
    // The pages file is the one the pagemap's head names.
    let pages_id = Image::parse(pm, Some("pagemap-1.img"))
        .ok()
        .and_then(|img| img.entries().next())
        .and_then(|e| e.ok())
        .filter(|e| e.role == Role::PagemapHead)
        .map_or(1, |e| view::PagemapHead::trusted(e.message).pages_id());
    let files = vec![
        ("pstree.img".to_string(), pstree()),
        ("mm-1.img".to_string(), mm),
        ("pagemap-1.img".to_string(), pm),
        (format!("pages-{pages_id}.img"), pages),
    ];
    let Some(ckpt) = criu_image_fuzz::checkpoint(&files) else { return };
    let mem = memory::Memory::open(&ckpt);
    let Ok(task) = mem.task(1) else { return };
    let _ = task.cmdline();
    let _ = task.environ();
    let _ = task.stored_len();
    let vmas: Vec<_> = task.vmas().collect();
    if vmas.is_empty() {
        return;
    }
    for op in ops.chunks_exact(8).take(32) {
        let v = vmas[op[0] as usize % vmas.len()];
        let off = u64::from(u32::from_le_bytes([op[1], op[2], op[3], op[4]]));
        let len = u64::from(u16::from_le_bytes([op[5], op[6]]));
        let addr = v.start.saturating_add(off % (v.end - v.start));
        if let Ok(bytes) = task.read(addr, len) {
            assert_eq!(bytes.len() as u64, len, "read {len} bytes at {addr:#x} gave {}", bytes.len());
        }
        let _ = task.vma_at(addr);
        let _ = task.check(addr, len);
        if op[7] & 1 != 0 {
            let _ = task.context(addr, len.min(256), 64, 64);
        }
    }
});
