//! Lists a process's open file descriptors with what each one is, from the typed file table.
//!
//! ```text
//! cargo run -p criu-image --example fds -- testdata/images/fdzoo 20321
//!   0 file     /dev/null flags=0x8002 pos=0
//!   8 pipe     pipe:[35727] flags=0x0
//!  11 unix     stream ino=35728 peer=35729
//!  18 eventfd  counter=42
//! ...
//! ```
//!
//! `fdinfo-<files_id>.img` gives each fd number and the id of its file description; the
//! description itself is in `files.img` (shared by every fd, of any task, that has that id).
//! The model resolves the second through the first and keeps the kernel's numbers (flags,
//! socket types and states) as typed values; this program decides how to print them.

use std::path::PathBuf;
use std::process::ExitCode;

use criu_image::checkpoint::Checkpoint;
use criu_image::model::{FileKind, Socket};

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fds: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(pid)) = (
        args.next().map(PathBuf::from),
        args.next().and_then(|p| p.to_str()?.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: fds CHECKPOINT_DIR PID");
        std::process::exit(2);
    };
    let ckpt = Checkpoint::open(&dir)?;
    let Some(process) = ckpt.process(pid)? else {
        eprintln!("{}: no process {pid} in pstree.img", dir.display());
        std::process::exit(1);
    };
    let files = ckpt.files()?;
    // `None`: the task has no fdinfo image (a zombie, or an incomplete checkpoint).
    for fd in process.fds()?.unwrap_or_default() {
        let Some(file) = files.get(fd.id) else {
            println!(
                "{:>3} ?        file id {} is not in files.img",
                fd.fd, fd.id
            );
            continue;
        };
        let (kind, details) = match &file.kind {
            FileKind::Regular(r) => {
                let deleted = if r.deleted() { " (deleted)" } else { "" };
                (
                    "file",
                    format!(
                        "{}{deleted} flags={:#x} pos={}",
                        String::from_utf8_lossy(&r.path),
                        r.flags.0,
                        r.pos
                    ),
                )
            }
            FileKind::Pipe { pipe_id, flags } => {
                ("pipe", format!("pipe:[{pipe_id}] flags={:#x}", flags.0))
            }
            FileKind::Fifo { pipe_id, path, .. } => (
                "fifo",
                format!(
                    "{} pipe:[{pipe_id}]",
                    path.as_deref().map_or("?".into(), String::from_utf8_lossy)
                ),
            ),
            FileKind::Socket(Socket::Unix(u)) => {
                // A bound name is a path with its NUL, or an abstract name that starts with NUL.
                let name = String::from_utf8_lossy(u.name.strip_suffix(b"\0").unwrap_or(&u.name))
                    .replace('\0', "@");
                (
                    "unix",
                    format!("{} ino={} peer={} {name}", u.type_, u.ino, u.peer)
                        .trim_end()
                        .to_string(),
                )
            }
            FileKind::Socket(Socket::Inet(i)) => {
                let addr = |a: Option<std::net::IpAddr>, port| {
                    a.map_or("?".into(), |a| {
                        std::net::SocketAddr::new(a, port as u16).to_string()
                    })
                };
                (
                    "inet",
                    format!(
                        "{} {} {} {} -> {}",
                        i.family,
                        i.type_,
                        i.state,
                        addr(i.src, i.src_port),
                        addr(i.dst, i.dst_port)
                    ),
                )
            }
            FileKind::Socket(Socket::Netlink(n)) => {
                ("netlink", format!("{} portid={}", n.protocol, n.portid))
            }
            FileKind::Socket(Socket::Packet(p)) => (
                "packet",
                format!("{} protocol={} ifindex={}", p.type_, p.protocol, p.ifindex),
            ),
            FileKind::Socket(_) => ("socket", String::new()),
            FileKind::Eventfd { counter, .. } => ("eventfd", format!("counter={counter}")),
            FileKind::Eventpoll { targets } => {
                let fds: Vec<String> = targets.iter().map(|t| t.tfd.to_string()).collect();
                ("epoll", format!("watches fds {}", fds.join(",")))
            }
            FileKind::Signalfd { sigmask } => ("signalfd", format!("sigmask={sigmask:#x}")),
            FileKind::Timerfd {
                clockid,
                value,
                interval,
                ..
            } => (
                "timerfd",
                format!(
                    "clock={clockid} value={}.{:09}s interval={}.{:09}s",
                    value.0, value.1, interval.0, interval.1
                ),
            ),
            FileKind::Inotify { watches } => ("inotify", format!("{} watches", watches.len())),
            FileKind::Fanotify { marks } => ("fanotify", format!("{marks} marks")),
            FileKind::Memfd(m) => {
                let name = m
                    .name
                    .as_deref()
                    .map_or("?".into(), String::from_utf8_lossy);
                (
                    "memfd",
                    format!(
                        "memfd:{name} size={}",
                        m.size.map_or("?".into(), |s| s.to_string())
                    ),
                )
            }
            FileKind::Tty(t) => (
                "tty",
                t.path
                    .as_deref()
                    .map_or("?".into(), |p| String::from_utf8_lossy(p).into_owned()),
            ),
            FileKind::Pidfd { pid, .. } => ("pidfd", format!("pid={pid}")),
            // The enum is non-exhaustive: newer versions of the model may describe more types.
            _ => ("other", format!("{:?}", file.type_)),
        };
        println!("{:>3} {kind:<8} {details}", fd.fd);
    }
    Ok(())
}
