//! `cargo xtask big-checkpoint DIR [--vmas N] [--fds N] [--criu PATH] [-- CRIU-OPTIONS...]`: dump,
//! with real CRIU, a process holding tens of thousands of VMAs and thousands of fds.
//!
//! The fixtures under `testdata/` are small (a `sleep` has ~20 VMAs); a crit that is fast on them can
//! still be quadratic or memory-hungry on a real workload. This builds the worst realistic case
//! instead, for `cargo xtask compare-crit` to measure on. It is generated on demand, never committed
//! (hundreds of MB of `pages-*.img`, and it would be dead weight in the repository).
//!
//! How: a small C program (embedded below, compiled with gcc in a scratch directory) creates
//! - `--vmas` (default 30000) mappings: small private anonymous regions whose protections alternate
//!   so the kernel cannot merge neighbours, with some pages dirtied so `pagemap`/`pages` hold data,
//!   plus 2% private and shared mappings of a file (at scattered offsets, again unmergeable);
//! - `--fds` (default 4000) descriptors: regular files (various flags and offsets), pipes (some with
//!   unread data), unix stream and datagram socketpairs (some with queued messages) and eventfds,
//!   after raising RLIMIT_NOFILE;
//!
//! then writes a "ready" file and sleeps. It is started the way the fixtures' targets were (see
//! `testdata/images/MANIFEST.md`): in a new session (`setsid`), stdio on /dev/null, no other fds, a
//! minimal environment. Then `criu dump -t PID -D DIR --shell-job --leave-running -v1 -o dump.log`
//! runs, and the target is killed. No extra CRIU option is needed: every socket's peer is inside the
//! dumped process, so `--ext-unix-sk` is not, and there are no file locks or TCP connections. The
//! target's files live in a scratch directory removed afterwards, so the checkpoint is for reading,
//! not for restoring.
//!
//! Needs root (CRIU dumps with ptrace and reads /proc/PID/map_files), gcc, and `vm.max_map_count`
//! above `--vmas` (the default 65530 suffices for 30000).

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask big-checkpoint DIR [--vmas N] [--fds N] [--criu PATH] [-- EXTRA-CRIU-DUMP-OPTIONS...]\n\
  DIR        where to write the images (created; a previous big checkpoint there is replaced)\n\
  --vmas N   mappings to create (default 30000)\n\
  --fds N    file descriptors to open (default 4000)\n\
  --criu P   the criu binary (default: $CRIU, else target/criu/bin/criu from `cargo xtask criu`)";

/// Marks a directory as ours, so that a re-run may empty it (and nothing else is ever emptied).
const MARKER: &str = ".xtask-big-checkpoint";

/// The target process. Arguments: number of VMAs, number of fds, path of the ready file.
/// On success it writes "PID VMAS FDS\n" to the ready file (via rename, so it is never seen half
/// written); on failure it writes the reason to READY.err. Its stdio is /dev/null, so nothing else
/// could tell us why it failed.
const TARGET_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define NFILES 256          /* distinct regular files the fds point at */
#define MAPFILE_PAGES 256   /* size of the file mapped in pieces */

static const char *ready;

static void die(const char *fmt, ...)
{
	char msg[512], path[4096];
	int e = errno, n;
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 64, fmt, ap);
	va_end(ap);
	snprintf(msg + n, sizeof(msg) - n, ": %s\n", strerror(e));
	snprintf(path, sizeof(path), "%s.err", ready);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0) {}
		close(fd);
	}
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	long nvmas = atol(argv[1]), nfds = atol(argv[2]);
	ready = argv[3];
	long page = sysconf(_SC_PAGESIZE);
	char name[64], buf[256];

	/* Only what we create should be in the dump. */
	close_range(3, ~0U, 0);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	rlim_t need = nfds + 64, hard = rl.rlim_max;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (rl.rlim_max < need)
			rl.rlim_max = need;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("setrlimit(RLIMIT_NOFILE, %ld) above the hard limit %ld "
			    "(raising it needs CAP_SYS_RESOURCE; try fewer --fds)", (long)need, (long)hard);
	}

	/* Files: NFILES small ones for fds, one bigger one for file mappings. */
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "file-%03d.txt", i);
		int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("create %s", name);
		int n = snprintf(buf, sizeof(buf), "regular file %d of the big checkpoint\n", i);
		for (int k = 0; k < 16; k++)
			if (write(fd, buf, n) != n)
				die("write %s", name);
		close(fd);
	}
	int mfd = open("mapped.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (mfd < 0 || ftruncate(mfd, MAPFILE_PAGES * page))
		die("mapped.bin");

	/* VMAs. Consecutive mmaps land next to each other (top-down), so neighbouring mappings get
	 * different protections or are file-backed at unrelated offsets: nothing can merge. */
	long made = 0;
	for (long i = 0; i < nvmas; i++) {
		void *p;
		if (i % 50 == 49) {
			/* File-backed, private or shared, read-only or read-write. */
			int shared = (i / 50) % 2;
			int prot = PROT_READ | (((i / 100) % 2) ? PROT_WRITE : 0);
			off_t off = ((i * 37) % MAPFILE_PAGES) * page;
			p = mmap(NULL, page, prot, shared ? MAP_SHARED : MAP_PRIVATE, mfd, off);
			if (p == MAP_FAILED)
				die("mmap file #%ld", i);
			if (prot & PROT_WRITE)
				memcpy(p, shared ? "SHRD" : "PRIV", 4);
		} else {
			/* Anonymous, 1-3 pages: even ones read-write, odd ones read-only or (1 in 5) no access. */
			size_t len = (1 + i % 3) * page;
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				die("mmap anon #%ld", i);
			if (i % 4 == 0 || i % 4 == 1) {
				/* Dirty the first page with something recognisable (not zeroes, which CRIU skips). */
				snprintf(p, page, "vma %ld", i);
				memset((char *)p + 64, (int)(i & 0xff) | 1, 256);
			}
			if (i % 2) {
				int prot = (i % 10 == 5) ? PROT_NONE : PROT_READ;
				if (mprotect(p, len, prot))
					die("mprotect #%ld", i);
			}
		}
		made++;
	}

	/* File descriptors, in a repeating mix. */
	long fds = 0, npipes = 0;
	for (long i = 0; fds < nfds; i++) {
		int fd[2];
		switch (i % 6) {
		case 0:
		case 1:
		case 2: {
			static const int flags[] = { O_RDONLY, O_RDWR, O_WRONLY | O_APPEND, O_RDONLY | O_CLOEXEC };
			snprintf(name, sizeof(name), "file-%03ld.txt", i % NFILES);
			int f = open(name, flags[i % 4]);
			if (f < 0)
				die("open %s", name);
			if (!(flags[i % 4] & O_APPEND))
				lseek(f, i % 500, SEEK_SET);
			fds++;
			break;
		}
		case 3:
			/* CRIU dumps at most NR_PIPES_WITH_DATA (1024) pipes per dump ("OOM storing pipe"),
			 * empty or not; beyond that, make socketpairs instead. */
			if (npipes >= 1000)
				goto sockets;
			if (nfds - fds < 2) {
				if (eventfd(0, 0) < 0)
					die("eventfd");
				fds++;
				break;
			}
			if (pipe2(fd, (i % 12 == 3) ? O_NONBLOCK : 0))
				die("pipe");
			if (i % 8 == 3) {
				int n = snprintf(buf, sizeof(buf), "unread pipe data %ld", i);
				if (write(fd[1], buf, n) != n)
					die("write pipe");
			}
			npipes++;
			fds += 2;
			break;
		case 4:
		sockets:
			if (nfds - fds < 2) {
				if (eventfd(0, 0) < 0)
					die("eventfd");
				fds++;
				break;
			}
			if (socketpair(AF_UNIX, (i % 12 == 4) ? SOCK_DGRAM : SOCK_STREAM, 0, fd))
				die("socketpair");
			if (i % 8 == 4) {
				int n = snprintf(buf, sizeof(buf), "queued message %ld", i);
				if (send(fd[0], buf, n, 0) != n)
					die("send");
			}
			fds += 2;
			break;
		case 5:
			if (eventfd((unsigned)i, (i % 2) ? EFD_NONBLOCK : 0) < 0)
				die("eventfd");
			fds++;
			break;
		}
	}

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	int r = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (r < 0)
		die("create %s", tmp);
	int n = snprintf(buf, sizeof(buf), "%d %ld %ld\n", getpid(), made, fds);
	if (write(r, buf, n) != n)
		die("write %s", tmp);
	close(r);
	if (rename(tmp, ready))
		die("rename %s", tmp);
	for (;;)
		pause();
}
"#;

struct Args {
    dir: PathBuf,
    vmas: u64,
    fds: u64,
    criu: PathBuf,
    extra: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut dir = None;
    let (mut vmas, mut fds) = (30_000u64, 4_000u64);
    let mut criu = crate::criu::criu_binary();
    let mut extra = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        fn num<'a>(it: &mut impl Iterator<Item = &'a String>, what: &str) -> Result<u64> {
            let v = it
                .next()
                .with_context(|| format!("{what} needs a number"))?;
            v.parse()
                .with_context(|| format!("{what} {v}: not a number"))
        }
        match a.as_str() {
            "--vmas" => vmas = num(&mut it, "--vmas")?,
            "--fds" => fds = num(&mut it, "--fds")?,
            "--criu" => criu = PathBuf::from(it.next().context("--criu needs a path")?),
            "--" => extra.extend(it.by_ref().cloned()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown option `{s}`\n{USAGE}"),
            s if dir.is_none() => dir = Some(PathBuf::from(s)),
            s => bail!("unexpected argument `{s}`\n{USAGE}"),
        }
    }
    let dir = dir.with_context(|| format!("missing DIR\n{USAGE}"))?;
    Ok(Args {
        dir,
        vmas,
        fds,
        criu,
        extra,
    })
}

pub fn run(args: &[String]) -> Result<()> {
    let a = parse(args)?;
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!("CRIU can only dump as root; run this as root");
    }
    if !a.criu.is_file() {
        bail!(
            "no criu at {}: run `cargo xtask criu` first (or set $CRIU / pass --criu)",
            a.criu.display()
        );
    }
    let max_map: u64 = fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65530);
    if a.vmas + 1000 > max_map {
        bail!(
            "--vmas {} needs vm.max_map_count above {} (it is {max_map}): sysctl -w vm.max_map_count={}",
            a.vmas,
            a.vmas + 1000,
            a.vmas * 2
        );
    }
    let dir = if a.dir.is_absolute() {
        a.dir.clone()
    } else {
        std::env::current_dir()?.join(&a.dir)
    };
    prepare_dir(&dir)?;

    let t0 = Instant::now();
    let work = Scratch::new()?;
    let exe = compile(&work.0)?;

    println!("starting the target ({} VMAs, {} fds)", a.vmas, a.fds);
    let ready = work.0.join("ready");
    let child = {
        let mut c = Command::new(&exe);
        c.arg(a.vmas.to_string())
            .arg(a.fds.to_string())
            .arg(&ready)
            .current_dir(&work.0)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/tmp")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe; a new session detaches the target from our terminal
        // and process group, as the fixtures' targets were (CRIU's --shell-job handles the rest).
        unsafe {
            c.pre_exec(|| {
                if libc::setsid() < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
        }
        c.spawn()
            .with_context(|| format!("starting {}", exe.display()))?
    };
    let mut target = Target(child);
    let pid = target.0.id();
    wait_ready(&mut target, &ready)?;
    let t_setup = t0.elapsed();
    let live_vmas = fs::read_to_string(format!("/proc/{pid}/maps"))?
        .lines()
        .count();
    let live_fds = fs::read_dir(format!("/proc/{pid}/fd"))?.count();
    println!("target {pid} ready in {t_setup:.1?}: {live_vmas} VMAs, {live_fds} fds");

    let mut cmd = Command::new(&a.criu);
    cmd.arg("dump")
        .arg("-t")
        .arg(pid.to_string())
        .arg("-D")
        .arg(&dir)
        .args(["--shell-job", "--leave-running", "-v1", "-o", "dump.log"])
        .args(&a.extra)
        .stdin(Stdio::null());
    println!(
        "+ {} {}",
        a.criu.display(),
        cmd.get_args()
            .map(|s| s.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let t1 = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("running {}", a.criu.display()))?;
    let t_dump = t1.elapsed();
    drop(target); // kill it: --leave-running left it running
    if !out.status.success() {
        let log = dir.join("dump.log");
        let text = fs::read_to_string(&log).unwrap_or_default();
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("Error") || l.contains("rror ("))
            .collect();
        let shown = if errors.is_empty() {
            text.lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect()
        } else {
            errors
        };
        bail!(
            "criu dump failed ({}) after {t_dump:.1?}:\n{}{}\n---- {} ----\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            log.display(),
            shown.join("\n")
        );
    }
    println!("dumped in {t_dump:.1?}");
    // With -v1 CRIU logs only errors; some are harmless (e.g. it cannot raise its own RLIMIT_NOFILE
    // without CAP_SYS_RESOURCE in a container), but they deserve a look.
    let log = fs::read_to_string(dir.join("dump.log")).unwrap_or_default();
    let errors: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    if !errors.is_empty() {
        println!(
            "note: the dump succeeded, but dump.log has {} line(s):",
            errors.len()
        );
        for l in errors.iter().take(10) {
            println!("  {l}");
        }
    }
    summary(&dir, pid, live_vmas, live_fds)?;
    println!("total {:.1?}", t0.elapsed());
    Ok(())
}

/// Create DIR, or empty it if it holds a previous big checkpoint; refuse anything else.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let entries: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        if !entries.is_empty() {
            if !dir.join(MARKER).exists() {
                bail!(
                    "{} is not empty and was not made by `cargo xtask big-checkpoint`; refusing to overwrite it",
                    dir.display()
                );
            }
            println!("replacing the previous big checkpoint in {}", dir.display());
            for p in entries {
                if p.is_dir() {
                    fs::remove_dir_all(&p)?
                } else {
                    fs::remove_file(&p)?
                }
            }
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(
        dir.join(MARKER),
        "made by `cargo xtask big-checkpoint`; a re-run empties this directory\n",
    )?;
    Ok(())
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let p = std::env::temp_dir().join(format!("xtask-bigckpt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p)?;
        Ok(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The running target, killed on drop (so an error on any path leaves no process behind).
struct Target(Child);

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn compile(work: &Path) -> Result<PathBuf> {
    let src = work.join("target.c");
    let exe = work.join("bigckpt-target");
    fs::write(&src, TARGET_C)?;
    let out = Command::new("gcc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&exe)
        .arg(&src)
        .stdin(Stdio::null())
        .output()
        .context("cannot run gcc (apt-get install build-essential)")?;
    if !out.status.success() {
        bail!(
            "compiling the target failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(exe)
}

fn wait_ready(target: &mut Target, ready: &Path) -> Result<()> {
    let err = ready.with_extension("err");
    let t0 = Instant::now();
    loop {
        if ready.exists() {
            return Ok(());
        }
        if let Ok(msg) = fs::read_to_string(&err) {
            bail!("the target failed: {}", msg.trim());
        }
        if let Some(st) = target.0.try_wait()? {
            bail!("the target exited ({st}) before it was ready");
        }
        if t0.elapsed() > Duration::from_secs(300) {
            bail!("the target was not ready after 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Print what the dump holds, counting from the images themselves.
fn summary(dir: &Path, pid: u32, live_vmas: usize, live_fds: usize) -> Result<()> {
    let mut files: Vec<(String, u64)> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().map_or(0, |m| m.len()),
            )
        })
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: u64 = files.iter().map(|f| f.1).sum();

    let mm = dir.join(format!("mm-{pid}.img"));
    let vmas = entries(&fs::read(&mm).with_context(|| format!("reading {}", mm.display()))?)?
        .first()
        .map_or(0, |e| count_field(e, 14)); // mm_entry.vmas = 14
    let mut fdinfos = 0;
    for (name, _) in &files {
        if name.starts_with("fdinfo-") && name.ends_with(".img") {
            fdinfos += entries(&fs::read(dir.join(name))?)?.len();
        }
    }
    let files_img = fs::read(dir.join("files.img")).context("reading files.img")?;
    let file_entries = entries(&files_img)?;
    let mut kinds: Vec<(u64, usize)> = Vec::new();
    for e in &file_entries {
        let t = first_varint(e, 1).unwrap_or(0); // file_entry.type = 1
        match kinds.iter_mut().find(|k| k.0 == t) {
            Some(k) => k.1 += 1,
            None => kinds.push((t, 1)),
        }
    }
    kinds.sort();
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(t, n)| format!("{} {n}", fd_type(*t)))
        .collect();

    println!(
        "\ncheckpoint {}: {} files, {}",
        dir.display(),
        files.len(),
        human(total)
    );
    println!(
        "  VMAs: {vmas} in mm-{pid}.img ({}; /proc/{pid}/maps had {live_vmas})",
        human(size_of(&files, &format!("mm-{pid}.img")))
    );
    println!(
        "  fds:  {fdinfos} in fdinfo-*.img (/proc/{pid}/fd had {live_fds}); files.img: {} entries ({}), {}",
        file_entries.len(),
        kinds.join(", "),
        human(size_of(&files, "files.img"))
    );
    println!("  largest images:");
    for (n, s) in files.iter().take(8) {
        println!("    {:>10}  {n}", human(*s));
    }
    Ok(())
}

fn size_of(files: &[(String, u64)], name: &str) -> u64 {
    files.iter().find(|f| f.0 == name).map_or(0, |f| f.1)
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn fd_type(t: u64) -> String {
    const NAMES: &[&str] = &[
        "UND",
        "REG",
        "PIPE",
        "FIFO",
        "INETSK",
        "UNIXSK",
        "EVENTFD",
        "EVENTPOLL",
        "INOTIFY",
        "SIGNALFD",
        "PACKETSK",
        "TTY",
        "FANOTIFY",
        "NETLINKSK",
        "NS",
        "TUNF",
        "EXT",
        "TIMERFD",
        "MEMFD",
        "BPFMAP",
        "PIDFD",
    ];
    NAMES
        .get(t as usize)
        .map_or_else(|| format!("type{t}"), |s| s.to_string())
}

// A minimal reader of the CRIU image framing, just enough to count entries without depending on
// the crates under test: magic (u32, or two u32s when the first is the common/service magic), then
// entries, each a little-endian u32 length followed by a protobuf message.
const IMG_COMMON_MAGIC: u32 = 0x5456_4319;
const IMG_SERVICE_MAGIC: u32 = 0x5510_5940;

fn entries(img: &[u8]) -> Result<Vec<&[u8]>> {
    let u32_at = |o: usize| {
        img.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let first = u32_at(0).context("image too short")?;
    let mut off = if first == IMG_COMMON_MAGIC || first == IMG_SERVICE_MAGIC {
        8
    } else {
        4
    };
    let mut out = Vec::new();
    while off < img.len() {
        let len = u32_at(off).context("truncated entry size")? as usize;
        let body = img.get(off + 4..off + 4 + len).context("truncated entry")?;
        out.push(body);
        off += 4 + len;
    }
    Ok(out)
}

/// Walk the top-level fields of a protobuf message, calling `f(field_number, varint_value)` for
/// varint fields and `f(field_number, 0)` for others.
fn walk(msg: &[u8], mut f: impl FnMut(u64, u64)) -> Option<()> {
    fn varint(b: &[u8], o: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*o)?;
            *o += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut o = 0;
    while o < msg.len() {
        let key = varint(msg, &mut o)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = varint(msg, &mut o)?;
                f(field, v);
                continue;
            }
            1 => o += 8,
            2 => o += varint(msg, &mut o)? as usize,
            5 => o += 4,
            _ => return None,
        }
        f(field, 0);
    }
    Some(())
}

fn count_field(msg: &[u8], field: u64) -> usize {
    let mut n = 0;
    walk(msg, |f, _| n += usize::from(f == field));
    n
}

fn first_varint(msg: &[u8], field: u64) -> Option<u64> {
    let mut v = None;
    walk(msg, |f, x| {
        if f == field && v.is_none() {
            v = Some(x)
        }
    });
    v
}
