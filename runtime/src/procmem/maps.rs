//! The target's VMAs from `/proc/PID/smaps`, classified the way CRIU 4.2 classifies them
//! (`criu/proc_parse.c`: `parse_smaps`, `handle_vma`, `__parse_vmflags`).
//!
//! We read `smaps` rather than `maps` for the same reason CRIU does: only the `VmFlags:` line says
//! whether a VMA is `VM_LOCKED` (`lo`), hugetlb (`ht`), `MAP_DROPPABLE` (`dp`) or `VM_IO`/`VM_PFNMAP`
//! (`io`, `pf`), and those decide whether and how CRIU dumps it.

use std::path::PathBuf;

use super::Error;

/// Which of CRIU's VMA classes a mapping falls in, for the purpose of dumping its private pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaClass {
    /// Private anonymous memory (`[heap]`, `[stack]`, `[anon:...]`, plain `mmap(MAP_ANONYMOUS)`, and
    /// private hugetlb): CRIU's `VMA_ANON_PRIVATE`.
    AnonPrivate,
    /// A private mapping of a file (including `/dev/zero` and memfds): `VMA_FILE_PRIVATE`. Only pages
    /// the process has written (COW copies) are dumped; clean pages come back from the file.
    FilePrivate,
    /// `[vdso]`: CRIU dumps every page of it, present or not, because restore may need to build a
    /// proxy from it.
    Vdso,
    /// `[vvar]`, `[vvar_vclock]`: never dumped, the kernel provides them on restore.
    Vvar,
    /// `[vsyscall]` (or `[vectors]`): above the task size, never dumped.
    Vsyscall,
    /// `[uprobes]`: skipped by CRIU.
    Uprobes,
    /// An AIO ring (`/[aio] (deleted)`): dumped whole.
    AioRing,
    /// A shared mapping: its contents live in the file, or in `pagemap-shmem-*` for shared
    /// anonymous memory, never in the task's pagemap.
    Shared,
    /// `MAP_DROPPABLE`: the kernel may zero it at any time, CRIU skips it.
    Droppable,
    /// `VM_IO`/`VM_PFNMAP` device memory: CRIU refuses to dump such a process; we skip the mapping.
    Unsupported,
}

/// What to do with a VMA's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Dump the pages the kernel reports present or swapped, minus the zero page and (for file
    /// mappings) the pages still shared with the page cache.
    PresentPages,
    /// Dump every page of the VMA.
    WholeVma,
    /// Dump nothing.
    Skip,
}

/// One VMA of the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    /// First address (the header line's `start`).
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `r` in the permissions column.
    pub read: bool,
    /// `w` in the permissions column.
    pub write: bool,
    /// `x` in the permissions column.
    pub exec: bool,
    /// `s` (rather than `p`) in the permissions column: a shared mapping.
    pub shared: bool,
    /// The offset column: where `start` is in the mapped file, in bytes.
    pub offset: u64,
    /// The inode column (0 for anonymous memory).
    pub inode: u64,
    /// The path column, raw bytes (Linux paths need not be UTF-8), empty for anonymous memory.
    pub path: Vec<u8>,
    /// `lo` in `VmFlags`: `mlock`ed, never lazy.
    pub locked: bool,
    /// `ht` in `VmFlags`: hugetlb.
    pub hugetlb: bool,
    /// `dp` in `VmFlags`: `MAP_DROPPABLE`.
    pub droppable: bool,
    /// `io` or `pf` in `VmFlags`: `VM_IO`/`VM_PFNMAP`.
    pub io_pf: bool,
    /// CRIU's class of the mapping, which decides what is dumped ([`Vma::disposition`]).
    pub class: VmaClass,
}

impl Vma {
    /// Number of pages.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / super::PAGE_SIZE as u64
    }

    /// The path as text, lossily.
    pub fn path_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.path)
    }

    /// Which pages CRIU dumps from this VMA.
    pub fn disposition(&self) -> Disposition {
        match self.class {
            VmaClass::AnonPrivate | VmaClass::FilePrivate => Disposition::PresentPages,
            VmaClass::Vdso | VmaClass::AioRing => Disposition::WholeVma,
            _ => Disposition::Skip,
        }
    }

    /// CRIU's `vma_entry_can_be_lazy`: private anonymous, not locked, not hugetlb, not vdso. Such
    /// pages get `PE_LAZY | PE_PRESENT` even in a plain dump (`ppb_xfer_flags`).
    pub fn can_be_lazy(&self) -> bool {
        self.class == VmaClass::AnonPrivate && !self.locked && !self.hugetlb
    }

    /// Whether a page still shared with the page cache (`PM_FILE`) must be skipped. CRIU's
    /// `/proc/PID/pagemap` path applies it to `VMA_FILE_PRIVATE` only; hugetlb private memory is
    /// anonymous to CRIU.
    pub(crate) fn skips_file_pages(&self) -> bool {
        self.class == VmaClass::FilePrivate && !self.hugetlb
    }
}

/// Parses `/proc/PID/smaps` text. `path` is only used in error messages.
pub fn parse_smaps(pid: i32, path: &std::path::Path, text: &[u8]) -> Result<Vec<Vma>, Error> {
    let mut vmas: Vec<Vma> = Vec::new();
    let bad = |line: usize, what: &str| Error::ProcFormat { pid, path: PathBuf::from(path), line, what: what.to_string() };
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let first = line.split(|&b| b == b' ').next().unwrap_or_default();
        if first.ends_with(b":") {
            // A `Key: value` line of the current VMA; only `VmFlags` matters here.
            if first == b"VmFlags:" {
                let v = vmas.last_mut().ok_or_else(|| bad(i + 1, "VmFlags before any VMA"))?;
                apply_vmflags(v, &line[first.len()..]);
            }
            continue;
        }
        vmas.push(parse_header(line).ok_or_else(|| bad(i + 1, "not a VMA header (`start-end perms offset dev inode path`)"))?);
    }
    for v in &mut vmas {
        v.class = classify(v);
    }
    Ok(vmas)
}

/// `start-end perms offset dev inode [path]`: the path starts after the run of spaces that
/// follows the inode and runs to the end of the line (it may contain spaces).
fn parse_header(line: &[u8]) -> Option<Vma> {
    let mut rest = line;
    let mut field = || -> Option<&[u8]> {
        let s = rest.iter().position(|&b| b != b' ')?;
        rest = &rest[s..];
        let e = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let (f, r) = rest.split_at(e);
        rest = r;
        Some(f)
    };
    let range = field()?;
    let perms = field()?;
    let offset = field()?;
    let _dev = field()?;
    let inode = field()?;
    let dash = range.iter().position(|&b| b == b'-')?;
    let hex = |s: &[u8]| u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok();
    let start = hex(&range[..dash])?;
    let end = hex(&range[dash + 1..])?;
    if perms.len() < 4 || end < start {
        return None;
    }
    let inode = std::str::from_utf8(inode).ok()?.parse().ok()?;
    let path = match rest.iter().position(|&b| b != b' ') {
        Some(s) => rest[s..].to_vec(),
        None => Vec::new(),
    };
    Some(Vma {
        start,
        end,
        read: perms[0] == b'r',
        write: perms[1] == b'w',
        exec: perms[2] == b'x',
        shared: perms[3] == b's',
        offset: hex(offset)?,
        inode,
        path,
        locked: false,
        hugetlb: false,
        droppable: false,
        io_pf: false,
        // Set by `classify` once the VmFlags line has been seen.
        class: VmaClass::AnonPrivate,
    })
}

/// `VmFlags` are two-letter mnemonics (`fs/proc/task_mmu.c`, `show_smap_vma_flags`).
fn apply_vmflags(v: &mut Vma, flags: &[u8]) {
    for f in flags.split(|&b| b == b' ').filter(|f| !f.is_empty()) {
        match f {
            b"lo" => v.locked = true,
            b"ht" => v.hugetlb = true,
            b"dp" => v.droppable = true,
            b"io" | b"pf" => v.io_pf = true,
            _ => {}
        }
    }
}

fn classify(v: &Vma) -> VmaClass {
    match v.path.as_slice() {
        b"[vdso]" => return VmaClass::Vdso,
        // vvar is VM_IO|VM_PFNMAP too; CRIU names it first, and so do we.
        b"[vvar]" | b"[vvar_vclock]" => return VmaClass::Vvar,
        b"[vsyscall]" | b"[vectors]" => return VmaClass::Vsyscall,
        b"[uprobes]" => return VmaClass::Uprobes,
        _ => {}
    }
    if v.shared {
        return if v.path.starts_with(b"/[aio]") { VmaClass::AioRing } else { VmaClass::Shared };
    }
    if v.droppable {
        return VmaClass::Droppable;
    }
    if v.io_pf {
        return VmaClass::Unsupported;
    }
    // CRIU calls a private mapping "file" when /proc/PID/map_files has a link for it, i.e. when
    // it has an inode; private hugetlb memory is the exception and counts as anonymous.
    if v.inode != 0 && !v.hugetlb { VmaClass::FilePrivate } else { VmaClass::AnonPrivate }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55fc46dc2000-55fc46dc4000 r--p 00000000 fe:00 1234                       /usr/bin/sleep
Size:                  8 kB
VmFlags: rd mr mw me sd 
55fc59d21000-55fc59d42000 rw-p 00000000 00:00 0                          [heap]
VmFlags: rd wr mr mw me ac sd 
7f9dc0046000-7f9dc004d000 r--s 00000000 fe:00 99                         /usr/lib/locale/x y (deleted)
VmFlags: rd mr me ms sd 
7f9dc0050000-7f9dc0054000 r--p 00000000 00:00 0                          [vvar]
VmFlags: rd mr pf io de dd sd 
7f9dc0054000-7f9dc0056000 r--p 00000000 00:00 0                          [vvar_vclock]
VmFlags: rd mr pf io de dd sd 
7f9dc0056000-7f9dc0058000 r-xp 00000000 00:00 0                          [vdso]
VmFlags: rd ex mr mw me de sd 
7f0000000000-7f0000001000 rw-p 00000000 00:00 0 
VmFlags: rd wr mr mw me lo ac sd 
7f0000002000-7f0000003000 rw-p 00000000 00:01 77                         /dev/mem
VmFlags: rd wr mr mw me io pf sd 
7f0000004000-7f0000005000 rw-p 00000000 00:00 0 
VmFlags: rd wr mr mw me dp sd 
7f0000006000-7f0000007000 ---p 00000000 00:00 0 
VmFlags: mr mw me sd 
7ffcfef7b000-7ffcfef9c000 rw-p 00000000 00:00 0                          [stack]
VmFlags: rd wr mr mw me gd ac 
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
VmFlags: ex 
";

    #[test]
    fn classifies_like_criu() {
        let v = parse_smaps(1, std::path::Path::new("smaps"), SMAPS.as_bytes()).unwrap();
        let got: Vec<_> = v.iter().map(|v| (v.start, v.class, v.disposition(), v.can_be_lazy())).collect();
        use Disposition::*;
        use VmaClass::*;
        assert_eq!(
            got,
            vec![
                (0x55fc46dc2000, FilePrivate, PresentPages, false),
                (0x55fc59d21000, AnonPrivate, PresentPages, true),
                (0x7f9dc0046000, Shared, Skip, false),
                (0x7f9dc0050000, Vvar, Skip, false),
                (0x7f9dc0054000, Vvar, Skip, false),
                (0x7f9dc0056000, Vdso, WholeVma, false),
                (0x7f0000000000, AnonPrivate, PresentPages, false),
                (0x7f0000002000, Unsupported, Skip, false),
                (0x7f0000004000, Droppable, Skip, false),
                (0x7f0000006000, AnonPrivate, PresentPages, true),
                (0x7ffcfef7b000, AnonPrivate, PresentPages, true),
                (0xffffffffff600000, Vsyscall, Skip, false),
            ]
        );
        assert_eq!(v[2].path, b"/usr/lib/locale/x y (deleted)");
        assert!(!v[9].read);
        assert!(v[6].locked);
    }

    #[test]
    fn rejects_garbage_with_line_number() {
        let e = parse_smaps(7, std::path::Path::new("/proc/7/smaps"), b"Size: 4 kB\nVmFlags: rd\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse_smaps(7, std::path::Path::new("/proc/7/smaps"), b"zz-1 r--p 0 0 0\n").unwrap_err();
        assert!(e.to_string().contains("process 7") && e.to_string().contains("line 1"), "{e}");
    }
}
