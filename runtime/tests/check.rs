//! `criu_image::check`: every fixture checks clean (as a directory and as tar, tar.gz and tar.zst
//! archives); each corruption of a copy of a fixture is named precisely: the diagnostic's
//! severity, file, entry, field and message.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use criu_image::check::{self, CheckReport, Diagnostic, Severity};
use criu_image::checkpoint::{Checkpoint, OpenOptions};
use criu_image::image::{Image, ImageWriter, Kind};
use criu_image::proto::owned;
use criu_image::proto::support::fields::Message;
use criu_image::proto::view;

const SETS: [&str; 7] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo"];

fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "check-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_set_to(set: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(support::fixture(set)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
}

fn copy_set(set: &str) -> PathBuf {
    let dir = scratch(set).join(set);
    copy_set_to(set, &dir);
    dir
}

fn check_dir(dir: &Path) -> CheckReport {
    check::check(&Checkpoint::open(dir).unwrap())
}

/// Diagnostics other than notices.
fn problems(r: &CheckReport) -> Vec<&Diagnostic> {
    r.diagnostics.iter().filter(|d| d.severity != Severity::Notice).collect()
}

/// Asserts that `r` has exactly one error or warning, and that it is this one.
#[track_caller]
fn only(r: &CheckReport, severity: Severity, file: &str, entry: Option<usize>, field: &str, message: &str) {
    let p = problems(r);
    let want = Diagnostic { severity, file: file.into(), entry, field: field.into(), message: message.into() };
    assert_eq!(p, [&want], "all diagnostics: {:#?}", r.diagnostics);
}

/// Asserts that `r` has this diagnostic (among others).
#[track_caller]
fn has(r: &CheckReport, severity: Severity, file: &str, entry: Option<usize>, field: &str, message: &str) {
    let want = Diagnostic { severity, file: file.into(), entry, field: field.into(), message: message.into() };
    assert!(r.diagnostics.contains(&want), "missing {want}\nall diagnostics: {:#?}", r.diagnostics);
}

/// Re-encodes an image (keeping its head word), letting `edit` replace the entries' list.
fn rewrite<M: Message>(path: &Path, edit: impl FnOnce(&mut Vec<M>)) {
    let bytes = std::fs::read(path).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut msgs: Vec<M> = img.entries().map(|e| M::decode(e.unwrap().message).unwrap()).collect();
    edit(&mut msgs);
    let mut w = ImageWriter::new(Vec::new(), img.kind).unwrap();
    for m in &msgs {
        w.write_message(m).unwrap();
    }
    std::fs::write(path, w.into_inner()).unwrap();
}

/// A pagemap image's head and entries, owned.
fn read_pagemap(path: &Path) -> (owned::PagemapHead, Vec<owned::PagemapEntry>) {
    let bytes = std::fs::read(path).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut it = img.entries().map(|e| e.unwrap());
    let head = view::PagemapHead::parse(it.next().unwrap().message).unwrap().to_msg();
    let entries = it.map(|e| view::PagemapEntry::parse(e.message).unwrap().to_msg()).collect();
    (head, entries)
}

fn write_pagemap(path: &Path, head: &owned::PagemapHead, entries: &[owned::PagemapEntry]) {
    let mut w = ImageWriter::new(Vec::new(), Kind::Pagemap).unwrap();
    w.write_message(head).unwrap();
    for e in entries {
        w.write_message(e).unwrap();
    }
    std::fs::write(path, w.into_inner()).unwrap();
}

fn pe(vaddr: u64, nr_pages: u64, flags: u32) -> owned::PagemapEntry {
    owned::PagemapEntry { vaddr, nr_pages: Some(nr_pages), flags: Some(flags), ..Default::default() }
}

// ---------------------------------------------------------------------------------------------
// Clean checkpoints

#[test]
fn every_fixture_is_clean() {
    for set in SETS {
        let r = check_dir(&support::fixture(set));
        assert!(r.is_clean(), "{set}: {:#?}", problems(&r));
        assert!(r.images >= 12, "{set}: {} images", r.images);
    }
}

#[test]
fn every_fixture_is_clean_as_an_archive() {
    for set in SETS {
        let mut b = tar::Builder::new(Vec::new());
        b.append_dir_all("checkpoint", support::fixture(set)).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(2);
        h.set_cksum();
        b.append_data(&mut h, "spec.dump", &b"{}"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        // The zstd encoder is slow without optimisations; the small sets exercise it.
        let zst = (tar.len() < 4 << 20)
            .then(|| ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest));
        for (what, bytes) in [("tar", Some(tar.clone())), ("tar.gz", Some(gz)), ("tar.zst", zst)] {
            let Some(bytes) = bytes else { continue };
            let ckpt = Checkpoint::from_archive_bytes(Path::new("x"), bytes, &OpenOptions::default()).unwrap();
            let r = check::check(&ckpt);
            assert!(r.is_clean(), "{set} {what}: {:#?}", problems(&r));
            assert_eq!(r.images, check_dir(&support::fixture(set)).images, "{set} {what}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Corruptions, each named precisely

#[test]
fn missing_core_image() {
    let dir = copy_set("sleep");
    std::fs::remove_file(dir.join("core-20292.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "pstree.img", Some(0), "pid", "task 20292 has no core-20292.img");
}

#[test]
fn missing_thread_core_image() {
    let dir = copy_set("fdzoo");
    std::fs::remove_file(dir.join("core-20325.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "pstree.img", Some(0), "threads[2]", "thread 20325 of task 20321 has no core-20325.img");
}

#[test]
fn truncated_pages_file() {
    let dir = copy_set("fdzoo");
    // pagemap-20321.img's pages are in pages-3.img (pages-1 and -2 are the shared memory's).
    assert_eq!(read_pagemap(&dir.join("pagemap-20321.img")).0.pages_id, 3);
    let p = dir.join("pages-3.img");
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 4096).unwrap();
    only(
        &check_dir(&dir),
        Severity::Error,
        "pages-3.img",
        None,
        "",
        &format!("holds {} bytes; the PE_PRESENT entries of pagemap-20321.img need {len} ({} pages of 4096)", len - 4096, len / 4096),
    );
}

#[test]
fn missing_pages_file() {
    let dir = copy_set("sleep");
    std::fs::remove_file(dir.join("pages-1.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "pagemap-20292.img", Some(0), "pages_id", "pages-1.img is missing; 31 pages are PE_PRESENT");
}

#[test]
fn pagemap_entry_outside_every_vma() {
    let dir = copy_set("sleep");
    let p = dir.join("pagemap-20292.img");
    let (head, mut entries) = read_pagemap(&p);
    // Lazy and not present: it needs no bytes in pages-1.img, so only its address is wrong.
    entries.insert(0, pe(0x1000, 2, 2));
    write_pagemap(&p, &head, &entries);
    only(&check_dir(&dir), Severity::Error, "pagemap-20292.img", Some(1), "vaddr", "pages 0x1000-0x3000 are outside every VMA of the task's mm image");
}

#[test]
fn pagemap_entry_running_past_its_vma() {
    let dir = copy_set("sleep");
    let p = dir.join("pagemap-20292.img");
    let (head, mut entries) = read_pagemap(&p);
    // The last entry is 4 pages at the top of the stack VMA (ending at 0x7ffcfef9c000).
    let last = entries.last_mut().unwrap();
    assert_eq!(last.vaddr, 0x7ffcfef98000);
    last.flags = Some(2);
    last.nr_pages = Some(6);
    entries.push(pe(0x7ffcfef9e000, 0, 2));
    write_pagemap(&p, &head, &entries);
    let r = check_dir(&dir);
    has(&r, Severity::Error, "pagemap-20292.img", Some(12), "vaddr", "pages 0x7ffcfef9c000-0x7ffcfef9e000 are outside every VMA of the task's mm image");
    has(&r, Severity::Warning, "pagemap-20292.img", Some(13), "nr_pages", "an entry of no pages");
}

#[test]
fn overlapping_pagemap_entries() {
    let dir = copy_set("sleep");
    let p = dir.join("pagemap-20292.img");
    let (head, mut entries) = read_pagemap(&p);
    // Entry 7 (0x7f9dc003c000, 3 pages) moved onto entry 6 (0x7f9dc0038000, 1 page).
    assert_eq!((entries[5].vaddr, entries[6].vaddr), (0x7f9dc0038000, 0x7f9dc003c000));
    entries[6].vaddr = 0x7f9dc0038000;
    write_pagemap(&p, &head, &entries);
    only(
        &check_dir(&dir),
        Severity::Error,
        "pagemap-20292.img",
        Some(7),
        "vaddr",
        "pages 0x7f9dc0038000-0x7f9dc003b000 overlap or precede entry 6, which ends at 0x7f9dc0039000",
    );
}

#[test]
fn fd_of_a_missing_file() {
    let dir = copy_set("sleep");
    rewrite::<owned::FdinfoEntry>(&dir.join("fdinfo-2.img"), |fds| fds[1].id = 9999);
    only(&check_dir(&dir), Severity::Error, "fdinfo-2.img", Some(1), "id", "fd 1: file id 9999 (REG) is not in files.img");
}

#[test]
fn fd_of_a_file_of_another_type() {
    let dir = copy_set("proctree");
    // fdinfo-6.img is 20377's: fd 1 is a pipe; make it claim to be a regular file.
    rewrite::<owned::FdinfoEntry>(&dir.join("fdinfo-6.img"), |fds| {
        assert_eq!(fds[1].fd, 1);
        fds[1].type_ = criu_image::proto::schema::enums::FdTypes::REG;
    });
    let r = check_dir(&dir);
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].file.as_str(), p[0].entry, p[0].field.as_str()), ("fdinfo-6.img", Some(1), "type"));
    assert!(p[0].message.starts_with("fd 1: file id ") && p[0].message.ends_with(" is a PIPE in files.img, the fd says REG"), "{}", p[0]);
}

#[test]
fn corrupt_magic() {
    let dir = copy_set("sleep");
    let p = dir.join("core-20292.img");
    let mut b = std::fs::read(&p).unwrap();
    b[4] ^= 0x01;
    std::fs::write(&p, b).unwrap();
    only(
        &check_dir(&dir),
        Severity::Error,
        "core-20292.img",
        None,
        "",
        // Its name says what it should be: not "maybe raw data".
        "byte 4: the magic is 0x55053846, but a file of this name is a CORE image (magic 0x55053847): the image is damaged, or renamed",
    );
}

#[test]
fn image_of_the_wrong_kind() {
    let dir = copy_set("sleep");
    std::fs::copy(dir.join("fs-20292.img"), dir.join("ids-20292.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "ids-20292.img", None, "", "holds a FS image (magic 0x51403912); a file of this name holds IDS");
}

#[test]
fn missing_inventory() {
    let dir = copy_set("sleep");
    std::fs::remove_file(dir.join("inventory.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "inventory.img", None, "", "missing: CRIU cannot restore a checkpoint without its inventory");
}

#[test]
fn unknown_image_version() {
    let dir = copy_set("sleep");
    rewrite::<owned::InventoryEntry>(&dir.join("inventory.img"), |e| e[0].img_version = 3);
    only(&check_dir(&dir), Severity::Error, "inventory.img", Some(0), "img_version", "image version 3 is not one CRIU knows (1 or 2)");
}

#[test]
fn image_without_head_magic_in_a_v2_checkpoint() {
    let dir = copy_set("sleep");
    let p = dir.join("fs-20292.img");
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[4..]).unwrap();
    only(&check_dir(&dir), Severity::Error, "fs-20292.img", None, "", "head magic is None, version 2 images have Common");
}

#[test]
fn pe_parent_without_a_parent_directory() {
    let dir = copy_set("sleep");
    let p = dir.join("pagemap-20292.img");
    let (head, mut entries) = read_pagemap(&p);
    // The bottom page of the stack VMA 0x7ffcfef7b000-0x7ffcfef9c000, before the last entry.
    let at = entries.len() - 1;
    entries.insert(at, pe(0x7ffcfef7b000, 1, 1));
    write_pagemap(&p, &head, &entries);
    only(
        &check_dir(&dir),
        Severity::Error,
        "pagemap-20292.img",
        Some(at + 1),
        "flags",
        "PE_PARENT pages 0x7ffcfef7b000-0x7ffcfef7c000 (and every other PE_PARENT entry) are in the parent checkpoint, but there is no `parent` link to the previous dump",
    );
}

/// A pre-dump series: `parent` holds the pages that the child marks PE_PARENT.
fn series() -> (PathBuf, PathBuf) {
    let root = scratch("series");
    let parent = root.join("1");
    let child = root.join("2");
    copy_set_to("sleep", &parent);
    copy_set_to("sleep", &child);
    std::os::unix::fs::symlink("../1", child.join("parent")).unwrap();
    // The child keeps only its first entry's pages; the rest are in the parent.
    let p = child.join("pagemap-20292.img");
    let (head, mut entries) = read_pagemap(&p);
    for e in entries.iter_mut().skip(1) {
        e.flags = Some(1);
    }
    write_pagemap(&p, &head, &entries);
    let pages = child.join("pages-1.img");
    std::fs::OpenOptions::new().write(true).open(&pages).unwrap().set_len(4096).unwrap();
    (parent, child)
}

#[test]
fn pe_parent_pages_found_in_the_parent() {
    let (_, child) = series();
    let r = check_dir(&child);
    assert!(r.is_clean(), "{:#?}", problems(&r));
}

#[test]
fn pe_parent_pages_missing_from_the_parent() {
    let (parent, child) = series();
    let p = parent.join("pagemap-20292.img");
    let (head, mut entries) = read_pagemap(&p);
    let gone = entries.remove(2);
    assert_eq!((gone.vaddr, gone.nr_pages), (0x55fc59d21000, Some(4)));
    write_pagemap(&p, &head, &entries);
    // The parent's own pages file is now too long, which is its problem, not the child's.
    let r = check_dir(&child);
    only(
        &r,
        Severity::Error,
        "pagemap-20292.img",
        Some(3),
        "flags",
        &format!(
            "PE_PARENT pages 0x55fc59d21000-0x55fc59d25000: 0x55fc59d21000-0x55fc59d25000 are not in {}/pagemap-20292.img",
            child.join("parent").display()
        ),
    );
}

#[test]
fn pe_parent_with_a_dangling_parent_link() {
    let (parent, child) = series();
    std::fs::remove_dir_all(&parent).unwrap();
    let r = check_dir(&child);
    let p = problems(&r);
    // One diagnostic naming the dangling link, not one per PE_PARENT entry.
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p.iter().all(|d| d.file == "pagemap-20292.img" && d.field == "flags"));
    let want = format!(
        "PE_PARENT pages 0x55fc46dcb000-0x55fc46dcd000 (and every other PE_PARENT entry) are in the parent checkpoint, but its `parent` cannot be used ({}: ",
        child.join("parent").display()
    );
    assert!(p[0].message.starts_with(&want), "{}", p[0]);
}

#[test]
fn missing_shared_memory_pagemap() {
    let dir = copy_set("fdzoo");
    std::fs::remove_file(dir.join("pagemap-shmem-1119.img")).unwrap();
    let r = check_dir(&dir);
    let p = problems(&r);
    // The memfd mapping of the memfd file, and memfd.img's inode itself.
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!((p[0].file.as_str(), p[0].entry), ("mm-20321.img", Some(0)));
    assert!(p[0].field.starts_with("vmas[") && p[0].field.ends_with("].shmid"), "{}", p[0]);
    assert_eq!(p[0].message, "memfd mapping: shared memory 1119 has no pagemap-shmem-1119.img");
    has(&r, Severity::Error, "memfd.img", Some(1), "shmid", "memfd: shared memory 1119 has no pagemap-shmem-1119.img");
    // Its pages file is left over.
    has(&r, Severity::Notice, "pages-2.img", None, "", "not used: no pagemap refers to it; CRIU ignores it");
}

#[test]
fn missing_sysv_shared_memory_pagemap() {
    let dir = copy_set("ipcns");
    std::fs::remove_file(dir.join("pagemap-shmem-0.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "ipcns-shm-11.img", Some(0), "desc.id", "SysV shared memory: shared memory 0 has no pagemap-shmem-0.img");
}

#[test]
fn missing_ghost_file() {
    let dir = copy_set("fdzoo");
    std::fs::remove_file(dir.join("ghost-file-1.img")).unwrap();
    only(&check_dir(&dir), Severity::Error, "remap-fpath.img", Some(0), "remap_id", "ghost remap of file 23: ghost-file-1.img is missing");
}

#[test]
fn remap_of_a_missing_file() {
    let dir = copy_set("fdzoo");
    rewrite::<owned::RemapFilePathEntry>(&dir.join("remap-fpath.img"), |e| e[0].orig_id = 777);
    only(&check_dir(&dir), Severity::Error, "remap-fpath.img", Some(0), "orig_id", "file id 777 is not in files.img");
}

#[test]
fn bad_enum_value() {
    let dir = copy_set("sleep");
    rewrite::<owned::FdinfoEntry>(&dir.join("fdinfo-2.img"), |fds| fds[2].type_ = criu_image::proto::schema::enums::FdTypes(99));
    let r = check_dir(&dir);
    has(&r, Severity::Error, "fdinfo-2.img", Some(2), "type", "99 is not a value of enum fd_types");
    // And, against files.img, the fd no longer matches its file.
    has(&r, Severity::Error, "fdinfo-2.img", Some(2), "type", "fd 2: file id 17 is a REG in files.img, the fd says 99");
    assert_eq!(problems(&r).len(), 2);
}

#[test]
fn truncated_entry() {
    let dir = copy_set("sleep");
    let p = dir.join("mm-20292.img");
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..b.len() - 10]).unwrap();
    let need = b.len() - 12;
    only(
        &check_dir(&dir),
        Severity::Error,
        "mm-20292.img",
        Some(0),
        "",
        &format!("byte 12: truncated: needs {need} bytes, {} remain (the image is cut short)", need - 10),
    );
}

#[test]
fn truncated_files_image_does_not_drown_the_report() {
    let dir = copy_set("sleep");
    let p = dir.join("files.img");
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..b.len() - 1]).unwrap();
    let r = check_dir(&dir);
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].file.as_str(), p[0].entry), ("files.img", Some(18)));
    assert!(p[0].message.contains("truncated"), "{}", p[0]);
}

#[test]
fn vma_and_exe_and_cwd_of_missing_files() {
    let dir = copy_set("sleep");
    rewrite::<owned::MmEntry>(&dir.join("mm-20292.img"), |mm| {
        mm[0].exe_file_id = 4242;
        mm[0].vmas[1].shmid = 4343;
    });
    rewrite::<owned::FsEntry>(&dir.join("fs-20292.img"), |fs| fs[0].cwd_id = 30);
    let r = check_dir(&dir);
    has(&r, Severity::Error, "fs-20292.img", Some(0), "cwd_id", "file id 30 is not in files.img");
    has(&r, Severity::Error, "mm-20292.img", Some(0), "exe_file_id", "file id 4242 is not in files.img");
    has(&r, Severity::Error, "mm-20292.img", Some(0), "vmas[1].shmid", "file id 4343 is not in files.img");
    assert_eq!(problems(&r).len(), 3);
}

#[test]
fn overlapping_vmas() {
    let dir = copy_set("sleep");
    rewrite::<owned::MmEntry>(&dir.join("mm-20292.img"), |mm| mm[0].vmas[2].start -= 0x1000);
    only(
        &check_dir(&dir),
        Severity::Error,
        "mm-20292.img",
        Some(0),
        "vmas[2].start",
        "VMA 0x55fc46dc8000-0x55fc46dcb000 overlaps or precedes the previous one (ending at 0x55fc46dc9000)",
    );
}

#[test]
fn pstree_inconsistencies() {
    let dir = copy_set("proctree");
    rewrite::<owned::PstreeEntry>(&dir.join("pstree.img"), |t| {
        t[2].ppid = 0; // a second root
        t[4].ppid = 31337; // a parent that was not dumped
        let dup = t[1].clone();
        t.push(dup); // a repeated pid
    });
    let r = check_dir(&dir);
    has(&r, Severity::Error, "pstree.img", Some(2), "ppid", "several root tasks (ppid 0): 20374, 20376");
    has(&r, Severity::Error, "pstree.img", Some(4), "ppid", "parent 31337 of task 20377 is not in the tree");
    has(&r, Severity::Error, "pstree.img", Some(6), "pid", "pid 20375 is already entry 1");
    assert_eq!(problems(&r).len(), 3, "{:#?}", problems(&r));
}

#[test]
fn live_task_without_its_memory() {
    let dir = copy_set("proctree");
    std::fs::remove_file(dir.join("mm-20380.img")).unwrap();
    std::fs::remove_file(dir.join("pagemap-20380.img")).unwrap();
    let r = check_dir(&dir);
    has(&r, Severity::Error, "pstree.img", Some(3), "pid", "task 20380 is alive but has no mm-20380.img (its memory map)");
    has(&r, Severity::Error, "pstree.img", Some(3), "pid", "task 20380 is alive but has no pagemap-20380.img (its memory contents)");
}

#[test]
fn orphans_are_notices() {
    let dir = copy_set("sleep");
    std::fs::copy(dir.join("fs-20292.img"), dir.join("fs-777.img")).unwrap();
    std::fs::write(dir.join("pages-9.img"), [0u8; 4096]).unwrap();
    let r = check_dir(&dir);
    assert!(r.is_clean(), "{:#?}", problems(&r));
    has(&r, Severity::Notice, "fs-777.img", None, "", "not used: 777 is not a task or thread of pstree.img; CRIU ignores it");
    has(&r, Severity::Notice, "pages-9.img", None, "", "not used: no pagemap refers to it; CRIU ignores it");
}

#[test]
fn a_pstree_cut_at_an_entry_boundary_is_named() {
    // Truncating pstree.img after its first entry still frames; the cores of the tasks it no
    // longer lists say what happened.
    let dir = copy_set("proctree");
    let p = dir.join("pstree.img");
    let b = std::fs::read(&p).unwrap();
    let first = 8 + 4 + u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
    std::fs::write(&p, &b[..first]).unwrap();
    let r = check_dir(&dir);
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].severity, p[0].file.as_str()), (Severity::Warning, "pstree.img"));
    assert!(
        p[0].message.starts_with("lists 1 tasks and threads, but the checkpoint has the cores of 5 more (pid 20375, 20376, 20377, 20378, 20380): the process tree looks cut short"),
        "{}",
        p[0].message
    );
    // Not one notice per stray core, mm, ids, fs and pagemap.
    assert!(!r.diagnostics.iter().any(|d| d.file.starts_with("core-")), "{:#?}", r.diagnostics);
}

#[test]
fn a_missing_files_image_is_named_once() {
    let dir = copy_set("proctree");
    std::fs::remove_file(dir.join("files.img")).unwrap();
    let r = check_dir(&dir);
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].severity, p[0].file.as_str()), (Severity::Error, "files.img"));
    assert!(p[0].message.starts_with("missing: "), "{}", p[0].message);
    // x fds says it once too, instead of `unknown path` without a word.
    let ckpt = Checkpoint::open(&dir).unwrap();
    let fds = criu_image::explore::fds(&ckpt).unwrap();
    let about: Vec<_> = fds.problems.iter().filter(|p| p.file == "files.img").collect();
    assert_eq!(about.len(), 1, "{:?}", fds.problems);
}

#[test]
fn no_parent_still_warns_that_the_parent_is_absent() {
    let (_, child) = series();
    std::fs::remove_file(child.join("parent")).unwrap();
    let r = check::check_with(&Checkpoint::open(&child).unwrap(), &check::CheckOptions::follow_parents(false));
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].severity, Severity::Warning);
    assert!(p[0].message.contains("there is no `parent` link"), "{}", p[0].message);
    // With the link in place and --no-parent, nothing is said (the parent is simply not read).
    let (_, child) = series();
    assert!(check::check_with(&Checkpoint::open(&child).unwrap(), &check::CheckOptions::follow_parents(false)).is_clean());
}

#[test]
fn diagnostics_are_deterministic() {
    let dir = copy_set("fdzoo");
    std::fs::remove_file(dir.join("ghost-file-1.img")).unwrap();
    std::fs::remove_file(dir.join("core-20324.img")).unwrap();
    std::fs::remove_file(dir.join("pagemap-shmem-1120.img")).unwrap();
    let a = check_dir(&dir).diagnostics;
    for _ in 0..3 {
        assert_eq!(check_dir(&dir).diagnostics, a);
    }
}

/// Re-encodes the entries of a payload image after `edit`, keeping each entry's payload bytes.
fn rewrite_with_payload<M: Message>(path: &Path, edit: impl Fn(usize, &mut M)) {
    let bytes = std::fs::read(path).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut w = ImageWriter::new(Vec::new(), img.kind).unwrap();
    for e in img.entries() {
        let e = e.unwrap();
        let mut m = M::decode(e.message).unwrap();
        edit(e.index, &mut m);
        w.write_message(&m).unwrap();
        match e.extra {
            criu_image::image::Extra::Bytes(b) => w.write_raw(b).unwrap(),
            criu_image::image::Extra::None => {}
            other => panic!("unexpected payload {other:?}"),
        }
    }
    std::fs::write(path, w.into_inner()).unwrap();
}

#[test]
fn pipe_data_of_no_pipe() {
    let dir = copy_set("fdzoo");
    rewrite_with_payload::<owned::PipeDataEntry>(&dir.join("pipes-data.img"), |_, d| d.pipe_id = 4242);
    let r = check_dir(&dir);
    only(&r, Severity::Warning, "pipes-data.img", Some(0), "pipe_id", "no pipe in files.img has pipe_id 4242: its 68 bytes would be lost");
}

#[test]
fn socket_packet_of_no_socket() {
    let dir = copy_set("fdzoo");
    rewrite_with_payload::<owned::SkPacketEntry>(&dir.join("sk-queues.img"), |i, p| {
        if i == 2 {
            p.id_for = 999;
        }
    });
    let r = check_dir(&dir);
    let d = problems(&r);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].severity, d[0].file.as_str(), d[0].entry, d[0].field.as_str()), (Severity::Warning, "sk-queues.img", Some(2), "id_for"));
    assert!(d[0].message.starts_with("no unix socket in files.img has id 999: its "), "{}", d[0].message);
}
