//! The model over a whole checkpoint: a fuzz input is a list of named files (see
//! `criu_image_fuzz::split_files`; seeds are real checkpoints), opened as a checkpoint archive;
//! `check`, every `x` view (text and JSON), `inspect --all` and the memory reader (`ps --cmdline --env`, reads of
//! each VMA) must run to the end without a panic, whatever the images say.
#![no_main]

use std::io::sink;

use criu_image::check;
use criu_image::explore;
use criu_image::inspect::overview::{Overview, Selection};
use criu_image::memory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = criu_image_fuzz::split_files(data);
    let Some(ckpt) = criu_image_fuzz::checkpoint(&files) else { return };
    let report = check::check(&ckpt);
    for d in &report.diagnostics {
        let _ = d.to_string();
    }
    let overview = Overview::load(&ckpt, &Selection::all());
    let _ = overview.write_text(&mut sink());
    let _ = overview.write_json(&mut sink());
    if let Ok(ps) = explore::ps(&ckpt) {
        let index = &ckpt;
        let _ = explore::write_ps_text(&ps.tasks, &mut sink());
        let _ = explore::write_ps_json(&ps, &mut sink());
        if let Ok(r) = explore::fds(index) {
            let _ = explore::write_fds_text(&r.tasks, &mut sink());
            let _ = explore::write_fds_json(&r, &mut sink());
        }
        if let Ok(r) = explore::mems(index) {
            let _ = explore::write_mems_text(&r.tasks, &mut sink());
            let _ = explore::write_mems_json(&r, &mut sink());
        }
        if let Ok(r) = explore::rss(index) {
            let _ = explore::write_rss_text(&r.tasks, &mut sink());
            let _ = explore::write_rss_json(&r, &mut sink());
        }
        if let Ok(r) = explore::sockets(index) {
            let _ = explore::write_sockets_text(&r.tasks, &mut sink());
            let _ = explore::write_sockets_json(&r, &mut sink());
        }
    }
    let mem = memory::Memory::open(&ckpt);
    if let Ok(tasks) = mem.tasks() {
        for (pid, _) in tasks.iter().take(8) {
            let Ok(task) = mem.task(*pid) else { continue };
            let _ = task.cmdline();
            let _ = task.environ();
            for v in task.vmas().take(16) {
                // Bounded reads: the start and the end of each VMA.
                let len = (v.end - v.start).min(4096);
                let _ = task.read(v.start, len);
                let _ = task.read(v.end - len, len);
            }
        }
    }
});
