//! `crit check` and `x` raise no false alarm on real ZDTM dumps that CRIU restores (copied into
//! `testdata/zdtm/`, see its MANIFEST): each case names the CRIU behaviour the rule follows.

use std::path::PathBuf;

use criu_image::check::{self, Severity};
use criu_image::checkpoint::Checkpoint;
use criu_image::explore;

fn set(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/zdtm").join(name);
    assert!(p.join("pstree.img").is_file(), "{} is missing (testdata/zdtm is part of the repository)", p.display());
    p
}

/// Errors and warnings of `crit check`, as text.
fn alarms(ckpt: &Checkpoint) -> Vec<String> {
    check::check(ckpt).diagnostics.iter().filter(|d| d.severity != Severity::Notice).map(|d| d.to_string()).collect()
}

/// Every problem the four crit views report.
fn view_problems(index: &Checkpoint) -> Vec<String> {
    let mut p: Vec<explore::Problem> = explore::ps(index).unwrap().problems;
    p.extend(explore::fds(index).unwrap().problems);
    p.extend(explore::mems(index).unwrap().problems);
    p.extend(explore::rss(index).unwrap().problems);
    p.iter().map(|p| p.to_string()).collect()
}

#[test]
fn zombies_are_their_core_and_nothing_else() {
    for name in ["zombie00", "zombie_leader", "helper_zombie_child", "fork"] {
        let ckpt = Checkpoint::open(&set(name)).unwrap();
        let procs = ckpt.processes().unwrap();
        // The case this guards: zombies whose pstree threads are not their pid (0 or garbage),
        // with a core saying TASK_DEAD and no other per-task image.
        let zombies: Vec<_> = procs.iter().filter(|t| t.is_zombie()).collect();
        assert!(!zombies.is_empty(), "{name}: no zombie in the dump");
        assert!(zombies.iter().any(|t| t.pstree_threads() != [t.pid()]), "{name}: every zombie lists itself as its thread");
        for t in &zombies {
            assert!(!ckpt.contains(&format!("mm-{}.img", t.pid())), "{name}: zombie {} has an mm image", t.pid());
            assert!(t.thread_ids().is_empty(), "{name}: the model gives zombie {} threads", t.pid());
        }
        assert_eq!(alarms(&ckpt), Vec::<String>::new(), "{name}: crit check");
        assert_eq!(view_problems(&ckpt), Vec::<String>::new(), "{name}: crit x");
    }
}

#[test]
fn a_zombie_still_needs_its_core() {
    // Without core-<pid>.img restore cannot tell the task is a zombie (open_core fails).
    let src = set("zombie00");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("zdtm-reg-{}-zombie-core", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let ckpt = Checkpoint::open(&dir).unwrap();
    let z = ckpt.processes().unwrap().iter().find(|t| t.is_zombie()).unwrap().pid();
    drop(ckpt);
    std::fs::remove_file(dir.join(format!("core-{z}.img"))).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let a = alarms(&ckpt);
    assert!(a.iter().any(|m| m.contains(&format!("core-{z}.img")) && m.starts_with("error")), "{a:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A scratch copy of a testdata/zdtm set.
fn copy(name: &str, tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("zdtm-reg-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(set(name)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// Rewrites `files.img` of `dir` with `edit` applied to its entries.
fn edit_files(dir: &std::path::Path, edit: impl FnOnce(&mut Vec<criu_image::proto::owned::FileEntry>)) {
    use criu_image::image::{Image, ImageWriter};
    use criu_image::proto::support::fields::Message;
    let p = dir.join("files.img");
    let bytes = std::fs::read(&p).unwrap();
    let img = Image::parse(&bytes, Some("files.img")).unwrap();
    let mut v: Vec<criu_image::proto::owned::FileEntry> = img.entries().map(|e| Message::decode(e.unwrap().message).unwrap()).collect();
    edit(&mut v);
    let mut w = ImageWriter::new(Vec::new(), img.kind).unwrap();
    for m in &v {
        w.write_message(m).unwrap();
    }
    std::fs::write(&p, w.into_inner()).unwrap();
}

#[test]
fn tun_files_share_their_id_with_the_device_file() {
    use criu_image::proto::schema::enums::FdTypes;
    let ckpt = Checkpoint::open(&set("tun_ns")).unwrap();
    let files = ckpt.files().unwrap();
    // What CRIU wrote: each TUNF entry right after a REG entry (/dev/net/tun) of the same id.
    let tuns: Vec<_> = files.other_types().iter().filter(|f| f.type_ == FdTypes::TUNF).collect();
    assert!(tuns.len() >= 5, "{} TUN files", tuns.len());
    for t in &tuns {
        let reg = files.get_typed(FdTypes::REG, t.id).expect("the REG entry of a TUN file");
        assert_eq!(&files.regular(reg.id).unwrap().path[..], b"/dev/net/tun");
        assert!(matches!(files.get_typed(FdTypes::TUNF, t.id).unwrap().kind, criu_image::model::FileKind::Tun { .. }));
    }
    assert!(files.duplicates().is_empty());
    assert_eq!(alarms(&ckpt), Vec::<String>::new());
    assert_eq!(view_problems(&ckpt), Vec::<String>::new());
}

#[test]
fn a_tun_file_without_its_device_entry_and_a_repeated_type_and_id_are_errors() {
    use criu_image::proto::schema::enums::FdTypes;
    // Drop the REG entry of the first TUN file: tunfile_open's open_reg_by_id would fail.
    let dir = copy("tun_ns", "tun-no-reg");
    let mut tun_id = 0;
    edit_files(&dir, |v| {
        let t = v.iter().position(|f| f.type_ == FdTypes::TUNF).unwrap();
        tun_id = v[t].id;
        v.retain(|f| !(f.id == tun_id && f.type_ == FdTypes::REG));
    });
    let a = alarms(&Checkpoint::open(&dir).unwrap());
    assert!(a.iter().any(|m| m.starts_with("error: files.img") && m.contains(&format!("TUN file {tun_id} has no REG entry"))), "{a:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
    // Two entries of one type under one id are still ambiguous.
    let dir = copy("tun_ns", "tun-dup");
    edit_files(&dir, |v| {
        let t = v.iter().position(|f| f.type_ == FdTypes::TUNF).unwrap();
        let dup = v[t].clone();
        v.push(dup);
    });
    let a = alarms(&Checkpoint::open(&dir).unwrap());
    assert!(a.iter().any(|m| m.starts_with("error: files.img") && m.contains("of the same type")), "{a:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rewrites `mm-<pid>.img` of `dir` with `edit` applied to its VMAs.
fn edit_vmas(dir: &std::path::Path, pid: u32, edit: impl FnOnce(&mut Vec<criu_image::proto::owned::VmaEntry>)) {
    use criu_image::image::{Image, ImageWriter};
    use criu_image::proto::support::fields::Message;
    let p = dir.join(format!("mm-{pid}.img"));
    let bytes = std::fs::read(&p).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut mm: criu_image::proto::owned::MmEntry = Message::decode(img.entries().next().unwrap().unwrap().message).unwrap();
    edit(&mut mm.vmas);
    let mut w = ImageWriter::new(Vec::new(), img.kind).unwrap();
    w.write_message(&mm).unwrap();
    std::fs::write(&p, w.into_inner()).unwrap();
}

const GUARD: u32 = criu_image::proto::flags::VmaStatus::GUARD.0;

#[test]
fn guard_regions_follow_the_mappings_and_lie_inside_them() {
    let ckpt = Checkpoint::open(&set("maps12")).unwrap();
    let pid = ckpt.processes().unwrap().nth(0).unwrap().pid();
    let mm_bytes = std::fs::read(set("maps12").join(format!("mm-{pid}.img"))).unwrap();
    let mm_img = criu_image::image::Image::parse(&mm_bytes, None).unwrap();
    let mm = criu_image::proto::view::MmEntry::parse(mm_img.entries().next().unwrap().unwrap().message).unwrap();
    let vmas: Vec<_> = mm.vmas().into_iter().collect();
    // What CRIU 4.2 wrote: the mappings ascending up to the vsyscall page, then guard regions
    // at lower addresses.
    let first_guard = vmas.iter().position(|v| v.status() & GUARD != 0).expect("maps12 has guard regions");
    assert!(vmas.iter().skip(first_guard).all(|v| v.status() & GUARD != 0));
    assert_eq!(vmas[first_guard - 1].start(), 0xffff_ffff_ff60_0000);
    assert!(vmas[first_guard].start() < 0xffff_ffff_ff60_0000);
    assert_eq!(alarms(&ckpt), Vec::<String>::new());
    assert_eq!(view_problems(&ckpt), Vec::<String>::new());
    // ps --cmdline reads the command line (the memory model leaves guard entries out).
    let mem = criu_image::memory::Memory::open(&ckpt);
    let task = mem.task(pid).unwrap();
    assert!(task.vmas().all(|v| !v.is_guard()));
    assert_eq!(task.cmdline().unwrap()[0], b"./maps12");
}

#[test]
fn guard_regions_before_a_mapping_or_outside_every_mapping_are_errors() {
    let pid = {
        let ckpt = Checkpoint::open(&set("maps12")).unwrap();
        ckpt.processes().unwrap().nth(0).unwrap().pid()
    };
    // A guard entry moved before the mappings: restore would stop its walks there.
    let dir = copy("maps12", "guard-first");
    edit_vmas(&dir, pid, |v| {
        let g = v.iter().position(|x| x.status & GUARD != 0).unwrap();
        let e = v.remove(g);
        v.insert(0, e);
    });
    let a = alarms(&Checkpoint::open(&dir).unwrap());
    assert!(a.iter().any(|m| m.starts_with(&format!("error: mm-{pid}.img entry 0 vmas[1].start")) && m.contains("comes after guard region vmas[0]")), "{a:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
    // A guard region over unmapped memory: madvise(MADV_GUARD_INSTALL) fails there.
    let dir = copy("maps12", "guard-unmapped");
    edit_vmas(&dir, pid, |v| {
        let g = v.iter().rposition(|x| x.status & GUARD != 0).unwrap();
        v[g].start = 0x1000;
        v[g].end = 0x2000;
    });
    let a = alarms(&Checkpoint::open(&dir).unwrap());
    assert!(a.iter().any(|m| m.contains("guard region 0x1000-0x2000") && m.contains("is in no mapping")), "{a:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shared_memory_pagemap_nothing_refers_to_imposes_nothing() {
    // A real pagemap-shmem image of another dump (zdtm/transition/shmem: 8192 present pages in
    // pages-1.img), left in a copy of zombie00, whose pages-1.img holds one page.
    let dir = copy("zombie00", "stale-shmem");
    let stale = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/zdtm/stale-shmem/pagemap-shmem-7862.img");
    std::fs::copy(&stale, dir.join("pagemap-shmem-7862.img")).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    assert_eq!(ckpt.file_len("pages-1.img"), Some(4096));
    let r = check::check(&ckpt);
    assert!(r.is_clean(), "{:#?}", r.diagnostics);
    assert!(
        r.diagnostics.iter().any(|d| d.severity == Severity::Notice && d.file == "pagemap-shmem-7862.img" && d.message.contains("CRIU ignores it")),
        "{:#?}",
        r.diagnostics
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn views_say_when_the_file_table_is_missing() {
    // Found by zdtm_corruption.rs: without files.img every path printed "unknown path" silently.
    let dir = copy("zombie00", "no-files");
    std::fs::remove_file(dir.join("files.img")).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    for (what, problems) in [
        ("fds", explore::fds(&ckpt).unwrap().problems),
        ("mems", explore::mems(&ckpt).unwrap().problems),
        ("rss", explore::rss(&ckpt).unwrap().problems),
    ] {
        assert!(problems.iter().any(|p| p.file == "files.img" && p.message.starts_with("missing")), "{what}: {problems:?}");
    }
    assert!(alarms(&ckpt).iter().any(|a| a.starts_with("error") && a.contains("files.img")));
    std::fs::remove_dir_all(&dir).unwrap();
}
