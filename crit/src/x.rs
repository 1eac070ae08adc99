//! `crit x CHECKPOINT ps|fds|mems|rss|sockets [--json]`: explore a checkpoint directory or
//! archive. The views and their text and JSON forms are `criu_image::explore`; `ps --cmdline
//! --env` adds what `criu_image::memory` reads from each task's stack.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use criu_image::checkpoint::{Checkpoint, OpenOptions};
use criu_image::explore::{self, Problem};
use criu_image::inspect::{self, Section};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// The process tree (PID, PGID, SID, command)
    Ps,
    /// Each task's open files, cwd and root
    Fds,
    /// Each task's executable and memory mappings
    Mems,
    /// Each task's dumped pages and the mappings they belong to
    Rss,
    /// Each task's sockets with addresses, ports and state (not in CRIU's crit)
    Sockets,
    /// Mount namespaces as mount trees (mountpoints-N.img)
    Mounts,
    /// Namespaces of the tasks and their contents: uts, SysV IPC, time, user, seccomp
    Ns,
    /// Cgroup sets, controllers and their properties (cgroup.img)
    Cgroups,
    /// Dump and restore statistics (stats-dump, stats-restore) in human units
    Stats,
    /// Network namespaces: devices, addresses, routes, rules, firewall (netdev, ifaddr, route...)
    Net,
    /// Container metadata of a Podman, CRI-O or containerd archive (config.dump, spec.dump)
    Container,
}

#[derive(clap::Args)]
pub struct XArgs {
    /// Checkpoint directory, or archive (tar, tar.gz, tar.zst as Podman, CRI-O and the kubelet
    /// write; `-` reads an archive from standard input)
    dir: PathBuf,
    /// What to show (leave it out for the list)
    #[arg(value_enum)]
    what: Option<What>,
    /// JSON instead of crit's text (schema: the `criu_image::explore` docs and the README)
    #[arg(long)]
    json: bool,
    /// ps: add each task's command line, read from its memory
    #[arg(long)]
    cmdline: bool,
    /// ps: add each task's environment, read from its memory
    #[arg(long)]
    env: bool,
    /// Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)
    #[arg(long, value_parser = parse_size, default_value = "4G")]
    max_archive_size: u64,
}

/// Parses `123`, `0x1f`, `64K`, `4G`.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        Some(b'T' | b't') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n = match num.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => num.parse::<u64>(),
    }
    .map_err(|_| format!("{s:?} is not a size (bytes, with an optional K, M, G or T suffix)"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

/// Opens a checkpoint directory or archive; `-` is an archive on standard input.
pub fn open(path: &std::path::Path, max_archive_size: u64) -> Result<Checkpoint> {
    let opts = OpenOptions { max_decompressed: max_archive_size, ..Default::default() };
    if path.as_os_str() == "-" {
        use std::io::Read;
        let mut bytes = Vec::new();
        // The limit bounds what standard input may make us hold, as it does a decompression.
        io::stdin().lock().take(max_archive_size.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max_archive_size {
            return Err(anyhow!("<stdin>: more than {max_archive_size} bytes; raise --max-archive-size or give the archive's path"));
        }
        return Checkpoint::from_archive_bytes(std::path::Path::new("<stdin>"), bytes, &opts).map_err(|e| anyhow!("{e}"));
    }
    Checkpoint::open_with(path, &opts).map_err(|e| anyhow!("{e}"))
}

/// The views, one line each, for `crit x DIR` without one.
fn list_views() -> String {
    use clap::ValueEnum;
    let mut s = String::from("which view? one of:\n");
    for v in What::value_variants() {
        if let Some(p) = v.to_possible_value() {
            s.push_str(&format!("  {:<10} {}\n", p.get_name(), p.get_help().map(|h| h.to_string()).unwrap_or_default()));
        }
    }
    s.push_str("e.g. `crit x DIR ps`");
    s
}

pub fn run(a: XArgs) -> Result<crate::Status> {
    let Some(what) = a.what else { return Err(anyhow!("{}", list_views())) };
    if (a.cmdline || a.env) && what != What::Ps {
        return Err(anyhow!("--cmdline and --env go with `ps`"));
    }
    let ckpt = open(&a.dir, a.max_archive_size)?;
    if let Some(section) = inspect_section(&ckpt, what) {
        return print_section(section.as_ref(), a.json);
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let err = |e| anyhow!("{}: {e}", a.dir.display());
    let problems = match what {
        What::Ps => {
            let r = explore::ps(&ckpt).map_err(err)?;
            if a.cmdline || a.env {
                let r = explore::ps_with_memory(&ckpt, r, a.cmdline, a.env);
                if a.json {
                    explore::write_ps_memory_json(&r, a.cmdline, a.env, &mut out)?
                } else {
                    explore::write_ps_memory_text(&r.tasks, a.cmdline, &mut out)?
                }
                r.problems
            } else {
                if a.json { explore::write_ps_json(&r, &mut out)? } else { explore::write_ps_text(&r.tasks, &mut out)? }
                r.problems
            }
        }
        What::Fds => {
            let r = explore::fds(&ckpt).map_err(err)?;
            if a.json { explore::write_fds_json(&r, &mut out)? } else { explore::write_fds_text(&r.tasks, &mut out)? }
            r.problems
        }
        What::Mems => {
            let r = explore::mems(&ckpt).map_err(err)?;
            if a.json { explore::write_mems_json(&r, &mut out)? } else { explore::write_mems_text(&r.tasks, &mut out)? }
            r.problems
        }
        What::Rss => {
            let r = explore::rss(&ckpt).map_err(err)?;
            if a.json { explore::write_rss_json(&r, &mut out)? } else { explore::write_rss_text(&r.tasks, &mut out)? }
            r.problems
        }
        What::Mounts | What::Ns | What::Cgroups | What::Stats | What::Net | What::Container => {
            unreachable!("printed by print_section")
        }
        What::Sockets => {
            let r = explore::sockets(&ckpt).map_err(err)?;
            if a.json {
                explore::write_sockets_json(&r, &mut out)?
            } else {
                explore::write_sockets_text(&r.tasks, &mut out)?
            }
            r.problems
        }
    };
    out.flush()?;
    drop(out);
    // The view is printed whole; what it could not show goes to stderr (and into the JSON), and
    // the exit status says the view is incomplete.
    if !a.json {
        warn(&problems);
    }
    // The model goes with the process (see crit::inspect::run).
    std::mem::forget(ckpt);
    Ok(problems.is_empty().into())
}

/// The views that are sections of `criu_image::inspect` (they need no task index).
fn inspect_section(ckpt: &Checkpoint, what: What) -> Option<Box<dyn Section>> {
    Some(match what {
        What::Mounts => Box::new(inspect::mounts::Mounts::load(ckpt)),
        What::Ns => Box::new(inspect::namespaces::Namespaces::load(ckpt)),
        What::Cgroups => Box::new(inspect::cgroups::Cgroups::load(ckpt)),
        What::Stats => Box::new(inspect::stats::Stats::load(ckpt)),
        What::Net => Box::new(inspect::net::Net::load(ckpt)),
        What::Container => Box::new(inspect::container::Container::load(ckpt)),
        _ => return None,
    })
}

fn print_section(section: &dyn Section, json: bool) -> Result<crate::Status> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    if json {
        inspect::write_json_document(section, &mut out)?;
    } else {
        section.write_text(&mut out)?;
    }
    out.flush()?;
    Ok(section.problems().is_empty().into())
}

fn warn(problems: &[Problem]) {
    for p in problems {
        eprintln!("crit: warning: {p}");
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("0x10"), Ok(16));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
