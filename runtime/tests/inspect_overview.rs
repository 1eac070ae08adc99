//! The sections `crit inspect` adds to those of `x` (processes, checkpoint, files) on every
//! fixture set, with their values checked against the images read here independently
//! (`support::raw`: framing by hand, messages through the generated views), `dump.log`, the
//! directory listing and `readelf`; and `crit inspect` itself: text within 80 columns where it
//! can be, JSON that parses, the same answer for a directory and its archive.

mod support;

use std::process::Command;

use criu_image::checkpoint::Checkpoint;
use criu_image::image::Kind;
use criu_image::inspect::dump::DumpInfo;
use criu_image::inspect::files::Files;
use criu_image::inspect::processes::Processes;
use criu_image::proto::flags::VmaStatus;
use criu_image::proto::kernel::TaskState;
use support::raw;

const SETS: [&str; 8] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo", "nsbox"];

/// Mapped bytes as the processes section counts them: every VMA but what the kernel provides at
/// restore (`[vvar]`, `[vsyscall]`, `[uprobes]`, packet rings) and guard regions.
fn mapped(vmas: &[(u64, u64, u32)]) -> u64 {
    let kernel = VmaStatus::VVAR.0 | VmaStatus::VSYSCALL.0 | VmaStatus::UPROBES.0 | VmaStatus::SOCKET.0 | VmaStatus::GUARD.0;
    vmas.iter().filter(|v| v.2 & kernel == 0).map(|v| v.1 - v.0).sum()
}

#[test]
fn processes_are_the_tree_states_command_lines_fds_and_memory_of_the_images() {
    for set in SETS {
        let dir = support::fixture(set);
        let ckpt = Checkpoint::open(&dir).unwrap();
        let p = Processes::load(&ckpt, true);
        assert!(p.problems.is_empty(), "{set}: {:?}", p.problems);
        let tree = raw::pstree(&dir);
        let threads = raw::pstree_threads(&dir);
        let mut ours: Vec<(u32, u32)> = p.tasks.iter().map(|t| (t.pid, t.ppid)).collect();
        let mut want = tree.clone();
        ours.sort();
        want.sort();
        assert_eq!(ours, want, "{set}: the tree");
        for t in &p.tasks {
            let (state, comm) = raw::core(&dir, t.pid);
            assert_eq!(t.state.as_deref(), Some(TaskState(state).to_string().as_str()), "{set} {}", t.pid);
            assert_eq!(t.comm.as_deref(), Some(comm.as_slice()), "{set} {}", t.pid);
            assert_eq!(t.threads, threads.iter().find(|x| x.0 == t.pid).unwrap().1, "{set} {}", t.pid);
            assert_eq!(t.cmdline.as_ref(), Some(&raw::argv(&dir, t.pid)), "{set} {}", t.pid);
            assert_eq!(t.fds, raw::fd_count(&dir, t.pid), "{set} {}", t.pid);
            assert_eq!(t.fd_list.len(), t.fds, "{set} {}: --all lists every fd", t.pid);
            // Memory: mapped from mm, dumped = the pagemap's pages inside the mappings.
            let vmas = raw::vma_status(&dir, t.pid);
            let (_, runs) = raw::pagemap(&dir, t.pid);
            let m = t.memory.expect("a live task has memory");
            assert_eq!(m.mapped.total(), mapped(&vmas), "{set} {}: mapped", t.pid);
            let kernel = VmaStatus::VVAR.0 | VmaStatus::VSYSCALL.0 | VmaStatus::UPROBES.0 | VmaStatus::SOCKET.0 | VmaStatus::GUARD.0;
            let dumped: u64 = vmas
                .iter()
                .filter(|v| v.2 & kernel == 0)
                .map(|v| runs.iter().map(|r| r.end().min(v.1).saturating_sub(r.vaddr.max(v.0))).sum::<u64>())
                .sum();
            assert_eq!(m.dumped.total(), dumped, "{set} {}: dumped", t.pid);
            let file = VmaStatus::FILE_PRIVATE.0 | VmaStatus::FILE_SHARED.0;
            if vmas.iter().all(|v| v.2 & (VmaStatus::MEMFD.0 | VmaStatus::ANON_SHARED.0 | VmaStatus::SYSVIPC.0) == 0) {
                let files: u64 = vmas.iter().filter(|v| v.2 & file != 0).map(|v| v.1 - v.0).sum();
                assert_eq!(m.mapped.file, files, "{set} {}: file-backed", t.pid);
                assert_eq!(m.mapped.shared, 0, "{set} {}", t.pid);
            }
            // Present, parent and lazy pages: the pagemap's flags.
            let count = |f: u32| runs.iter().filter(|r| r.flags & f != 0).map(|r| r.nr_pages).sum::<u64>();
            assert_eq!(m.present_pages, count(raw::PE_PRESENT), "{set} {}", t.pid);
            assert_eq!(m.parent_pages, runs.iter().filter(|r| r.flags & raw::PE_PRESENT == 0 && r.flags & raw::PE_PARENT != 0).map(|r| r.nr_pages).sum::<u64>(), "{set} {}", t.pid);
        }
    }
}

#[test]
fn checkpoint_is_the_inventory_the_listing_and_dump_log() {
    for set in SETS {
        let dir = support::fixture(set);
        let d = DumpInfo::load(&Checkpoint::open(&dir).unwrap());
        assert!(d.problems.is_empty(), "{set}: {:?}", d.problems);
        assert_eq!(d.format, "directory");
        assert_eq!(d.img_version, Some(raw::img_version(&dir)), "{set}");
        let log = std::fs::read_to_string(dir.join("dump.log.txt")).unwrap();
        let version = log.lines().find_map(|l| l.split("Version: ").nth(1)).map(|v| v.split_whitespace().next().unwrap().to_string());
        assert_eq!(d.criu_version, version, "{set}");
        // Every file of the directory, and the bytes by kind (raw kinds by their names).
        let mut files: Vec<(String, u64)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| (e.file_name().into_string().unwrap(), e.metadata().unwrap().len()))
            .collect();
        files.sort();
        assert_eq!(d.total_files, files.len(), "{set}");
        assert_eq!(d.total_bytes, files.iter().map(|f| f.1).sum::<u64>(), "{set}");
        let pages: u64 = files.iter().filter(|f| f.0.starts_with("pages-")).map(|f| f.1).sum();
        let kind = |k: &str| d.by_kind.iter().find(|x| x.kind == k).map(|x| (x.files, x.bytes));
        assert_eq!(kind("PAGES"), Some((files.iter().filter(|f| f.0.starts_with("pages-")).count(), pages)), "{set}");
        let cores: Vec<&(String, u64)> = files.iter().filter(|f| Kind::from_file_name(&f.0).is_some_and(|k| k.0.name() == "CORE")).collect();
        assert_eq!(kind("CORE"), Some((cores.len(), cores.iter().map(|f| f.1).sum())), "{set}");
        assert!(d.by_kind.windows(2).all(|w| w[0].bytes >= w[1].bytes), "{set}: largest first");
        // --shell-job is needed when the tree's session or group leader is outside it, or its
        // terminal is: pty-shelljob's pty master belongs to script(1) (MANIFEST); the other sets
        // are setsid'd trees without a terminal.
        let ids = raw::pstree_ids(&dir);
        let pids: Vec<u32> = ids.iter().map(|i| i.0).collect();
        let outside = ids.iter().any(|&(_, pgid, sid)| (sid != 0 && !pids.contains(&sid)) || (pgid != 0 && !pids.contains(&pgid)));
        assert_eq!(d.options.shell_job, outside || set == "pty-shelljob", "{set}");
        // File validation: the two sets dumped with --file-validation (MANIFEST).
        match set {
            "sleep-fv-buildid" => assert_eq!(d.options.file_validation, Some("buildid")),
            "sleep-fv-filesize" => assert_eq!(d.options.file_validation, Some("filesize")),
            _ => {}
        }
    }
}

/// A regular file entry: id, path, size, mode.
type Reg = (u32, Vec<u8>, Option<u64>, Option<u32>);

#[test]
fn files_are_the_regular_files_of_files_img_with_their_build_ids() {
    for set in SETS {
        let dir = support::fixture(set);
        let f = Files::load(&Checkpoint::open(&dir).unwrap());
        assert!(f.problems.is_empty(), "{set}: {:?}", f.problems);
        let bytes = raw::read(&dir, "files.img");
        let mut want: Vec<Reg> = Vec::new();
        for m in raw::messages(&bytes) {
            let e = criu_image::proto::view::FileEntry::parse(m).unwrap();
            if let Some(r) = e.reg() {
                want.push((e.id(), r.name().to_vec(), r.size(), r.mode()));
            }
        }
        assert!(!want.is_empty(), "{set}");
        let mut ours: Vec<Reg> = f.paths.iter().map(|p| (p.id, p.path.clone(), p.size, p.mode)).collect();
        for p in &f.paths {
            let regular = p.mode.is_some_and(|m| m & 0o170000 == 0o100000);
            assert_eq!(p.file_type == Some("regular"), regular, "{set}: {:?}", p);
        }
        want.sort();
        ours.sort();
        assert_eq!(ours, want, "{set}");
    }
    // Build-ids: sleep-fv-buildid was dumped with --file-validation=buildid; /bin/sleep's note, as
    // readelf prints it.
    let f = Files::load(&Checkpoint::open(&support::fixture("sleep-fv-buildid")).unwrap());
    let sleep = f.paths.iter().find(|p| p.path.ends_with(b"/sleep")).expect("the sleep binary");
    let out = Command::new("readelf").args(["-n", "/bin/sleep"]).output().expect("readelf (binutils) is needed");
    let note = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string));
    if std::fs::read("/bin/sleep").unwrap().len() as u64 == sleep.size.unwrap() {
        assert_eq!(sleep.build_id, note, "the same /bin/sleep as at dump time");
    } else {
        assert!(sleep.build_id.as_ref().is_some_and(|b| b.len() == 40), "{:?}", sleep.build_id);
    }
}
