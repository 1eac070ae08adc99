//! The file descriptions of a checkpoint (`files.img`, and the per-type images of checkpoints
//! older than it) as typed data, and the file descriptors of a task (`fdinfo-<id>.img`).
//!
//! A file description is shared by every fd (of any task) that refers to its id. Each
//! [`File`] says what it is ([`FileKind`]) with the numbers of the images (flags, states,
//! families stay numbers; renderers name them). Paths are bytes: Linux paths need not be UTF-8.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use criu_image_proto::flags::{OpenFlags, RemapId, Seals};
use criu_image_proto::kernel::{DeviceMajor, EtherType, IpProto, NetlinkProtocol, SocketFamily, SocketType, TcpState};
use criu_image_proto::schema::enums::{FdTypes, RemapType, TtyType};
use criu_image_proto::schema::kinds::files as names;
use criu_image_proto::view;

use super::ids::IdMap;
use super::read::{all_entries, messages, typed_image};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::image::Kind;

/// Where a file description was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSource {
    /// `files.img`, every CRIU since 3.x.
    Files,
    /// `reg-files.img` (checkpoints older than `files.img`).
    RegFiles,
    /// `pipes.img` (older checkpoints).
    Pipes,
    /// `unixsk.img` (older checkpoints).
    UnixSk,
}

impl FileSource {
    /// The image's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            FileSource::Files => names::FILES.pattern(),
            FileSource::RegFiles => names::REG_FILES.pattern(),
            FileSource::Pipes => names::PIPES.pattern(),
            FileSource::UnixSk => names::UNIXSK.pattern(),
        }
    }
}

/// One file description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Its id, which fds, VMAs and other images refer to.
    pub id: u32,
    /// The image it is in.
    pub source: FileSource,
    /// Its entry index in that image.
    pub entry: usize,
    /// The type `files.img` gives it (for the legacy images, the image's type).
    pub type_: FdTypes,
    /// What it is.
    pub kind: FileKind,
}

/// What a file description is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file, directory or device opened by path (`reg_file_entry`).
    Regular(RegularFile),
    /// One end of a pipe.
    Pipe {
        /// The pipe's inode: both ends have it.
        pipe_id: u32,
        /// Open flags.
        flags: OpenFlags,
    },
    /// A FIFO (named pipe).
    Fifo {
        /// The FIFO's inode.
        pipe_id: u32,
        /// The id of the regular-file entry that holds its path.
        regf_id: Option<u32>,
        /// Its path, from that entry.
        path: Option<Arc<[u8]>>,
    },
    /// A socket.
    Socket(Socket),
    /// An eventfd.
    Eventfd {
        /// Its counter.
        counter: u64,
        /// Open flags.
        flags: OpenFlags,
    },
    /// An epoll instance and what it watches.
    Eventpoll {
        /// The watched fds.
        targets: Vec<EpollTarget>,
    },
    /// A signalfd.
    Signalfd {
        /// The signals it accepts (bit `n - 1` for signal `n`).
        sigmask: u64,
    },
    /// A timerfd.
    Timerfd {
        /// The clock (`CLOCK_*`).
        clockid: u32,
        /// Time to the next expiry, seconds and nanoseconds.
        value: (u64, u64),
        /// The interval, seconds and nanoseconds.
        interval: (u64, u64),
        /// Expirations not yet read.
        ticks: u64,
    },
    /// An inotify instance.
    Inotify {
        /// Its watches.
        watches: Vec<InotifyWatch>,
    },
    /// A fanotify instance.
    Fanotify {
        /// How many marks it has.
        marks: usize,
    },
    /// A memfd.
    Memfd(MemfdFile),
    /// A terminal.
    Tty(TtyFile),
    /// A pidfd.
    Pidfd {
        /// The pid it refers to, in the dumped pid namespace.
        pid: i32,
        /// Its inode.
        ino: u32,
    },
    /// A BPF map.
    BpfMap {
        /// `BPF_MAP_TYPE_*`.
        map_type: u32,
        /// Its name, raw.
        name: Vec<u8>,
        /// Key size in bytes.
        key_size: u32,
        /// Value size in bytes.
        value_size: u32,
        /// Maximum number of entries.
        max_entries: u32,
    },
    /// A TUN/TAP device file.
    Tun {
        /// The network device it is attached to.
        netdev: Option<Vec<u8>>,
        /// Whether it was detached from the device.
        detached: bool,
    },
    /// A namespace file (`/proc/PID/ns/*`).
    Namespace {
        /// The namespace's id.
        ns_id: u32,
        /// Its `CLONE_NEW*` flag.
        ns_cflag: u32,
    },
    /// A file CRIU did not dump, that the restore gets with `--inherit-fd` (`--external`).
    External,
    /// A type this model does not describe (or whose sub-entry is missing from the image).
    Other,
}

/// A regular file (or directory, device, ...) opened by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegularFile {
    /// Its path in the dumped tasks' mount namespace.
    pub path: Arc<[u8]>,
    /// Open flags.
    pub flags: OpenFlags,
    /// The file position.
    pub pos: u64,
    /// Its size at dump time (absent for what is not a regular file, and for `O_APPEND`-only).
    pub size: Option<u64>,
    /// Its mode (`S_IF*` type and permission bits).
    pub mode: Option<u32>,
    /// The mount it was opened on.
    pub mnt_id: Option<i32>,
    /// Whether it is an external file.
    pub ext: bool,
    /// Its ELF build-id, as CRIU stores it (32-bit words).
    pub build_id: Vec<u32>,
    /// Its CRC32C checksum, when the dump recorded one.
    pub checksum: Option<u32>,
    /// How the checksum was taken (`--file-validation`'s checksum mode).
    pub checksum_config: Option<u32>,
    /// The checksum mode's parameter (bytes, or a period).
    pub checksum_parameter: Option<u32>,
    /// How the file is restored when it was unlinked or replaced at dump time.
    pub remap: Option<Remap>,
}

impl RegularFile {
    /// `S_IFMT` of the mode, when known.
    fn file_type(&self) -> Option<u32> {
        self.mode.map(|m| m & 0o170000)
    }
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == Some(0o040000)
    }
    /// Whether it is a regular file (or its type is unknown and it has a size).
    pub fn is_regular(&self) -> bool {
        match self.file_type() {
            Some(t) => t == 0o100000,
            None => self.size.is_some(),
        }
    }
    /// Whether it is a character or block device.
    pub fn is_device(&self) -> bool {
        matches!(self.file_type(), Some(0o020000 | 0o060000))
    }
    /// Whether the file was unlinked while open: a ghost or linked remap, or a name still ending
    /// in `" (deleted)"`.
    pub fn deleted(&self) -> bool {
        matches!(self.remap, Some(Remap::Ghost { .. } | Remap::Linked { .. })) || self.path.ends_with(b" (deleted)")
    }
}

/// How CRIU restores a file that was not at its path at dump time (`remap-fpath.img`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remap {
    /// Unlinked: its content is in `ghost-file-<id>.img` (ghost id in hex in the file name).
    Ghost {
        /// The ghost file's id.
        ghost_id: u32,
        /// The `remap-fpath.img` entry.
        entry: usize,
    },
    /// Unlinked, but CRIU made a hard link to it that restore opens (`--link-remap`).
    Linked {
        /// The file id of the link.
        link_id: u32,
        /// The `remap-fpath.img` entry.
        entry: usize,
    },
    /// A `/proc/<pid>` directory of a task that is dead at dump time.
    Procfs {
        /// The dead task's pid.
        pid: u32,
        /// The `remap-fpath.img` entry.
        entry: usize,
    },
    /// A remap type this model does not know.
    Other {
        /// Its number.
        remap_type: i32,
        /// The entry's `remap_id`.
        remap_id: u32,
        /// The `remap-fpath.img` entry.
        entry: usize,
    },
}

/// A socket: its family's data, with the kernel's numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Socket {
    /// `AF_UNIX`.
    Unix(UnixSocket),
    /// `AF_INET` or `AF_INET6`.
    Inet(InetSocket),
    /// `AF_NETLINK`.
    Netlink(NetlinkSocket),
    /// `AF_PACKET`.
    Packet(PacketSocket),
}

/// A unix socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSocket {
    /// Its inode.
    pub ino: u32,
    /// The peer's inode, 0 when unconnected.
    pub peer: u32,
    /// Its type.
    pub type_: SocketType,
    /// TCP-style state (established, listen, ...), as the kernel reports it for unix sockets.
    pub state: TcpState,
    /// The bound name, raw: a path with its terminating NUL, or an abstract name starting with
    /// NUL; empty when unbound.
    pub name: Vec<u8>,
    /// The listen backlog.
    pub backlog: u32,
    /// `SHUT_*` state.
    pub shutdown: Option<i32>,
    /// Whether its bound path was unlinked.
    pub deleted: Option<bool>,
    /// Its network namespace id.
    pub ns_id: Option<u32>,
}

/// An IPv4 or IPv6 socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InetSocket {
    /// Its inode.
    pub ino: u32,
    /// `AF_INET` or `AF_INET6`.
    pub family: SocketFamily,
    /// Its type.
    pub type_: SocketType,
    /// Its protocol (for raw sockets, the IP protocol they see).
    pub proto: IpProto,
    /// Its TCP state.
    pub state: TcpState,
    /// The local address (`None` when the image's words are not 1 or 4).
    pub src: Option<IpAddr>,
    /// The local port.
    pub src_port: u32,
    /// The remote address.
    pub dst: Option<IpAddr>,
    /// The remote port.
    pub dst_port: u32,
    /// The listen backlog.
    pub backlog: u32,
    /// The bound interface.
    pub ifname: Option<Vec<u8>>,
    /// Its network namespace id.
    pub ns_id: Option<u32>,
}

/// A netlink socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetlinkSocket {
    /// Its inode.
    pub ino: u32,
    /// Its netlink protocol.
    pub protocol: NetlinkProtocol,
    /// Its port id.
    pub portid: u32,
    /// Multicast groups bitmap words.
    pub groups: Vec<u32>,
    /// The connected peer's port id.
    pub dst_portid: u32,
    /// The connected peer's group.
    pub dst_group: u32,
    /// Its network namespace id.
    pub ns_id: Option<u32>,
}

/// A packet socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSocket {
    /// `SOCK_DGRAM` or `SOCK_RAW`.
    pub type_: SocketType,
    /// The ethertype it receives, in host order (the image stores network order).
    pub protocol: EtherType,
    /// The interface it is bound to, 0 for all.
    pub ifindex: u32,
    /// Its network namespace id.
    pub ns_id: Option<u32>,
}

/// One fd an epoll instance watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollTarget {
    /// The watched fd number.
    pub tfd: u32,
    /// `EPOLL*` event mask.
    pub events: u32,
    /// The user data.
    pub data: u64,
}

/// One inotify watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InotifyWatch {
    /// The watch descriptor.
    pub wd: u32,
    /// `IN_*` mask.
    pub mask: u32,
    /// The watched inode.
    pub ino: u64,
    /// The watched path, when CRIU resolved it.
    pub path: Option<Vec<u8>>,
}

/// A memfd file description and its inode (`memfd.img`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemfdFile {
    /// The inode id (`memfd.img`'s `inode_id`).
    pub inode_id: u32,
    /// The memfd's name (without the `memfd:` prefix), from its inode.
    pub name: Option<Arc<[u8]>>,
    /// Its size, from its inode.
    pub size: Option<u64>,
    /// The shared-memory id of its contents (`pagemap-shmem-<shmid>.img`), from its inode.
    pub shmid: Option<u32>,
    /// Its seals, from its inode.
    pub seals: Option<Seals>,
    /// Open flags.
    pub flags: OpenFlags,
    /// The file position.
    pub pos: u64,
}

/// A terminal file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtyFile {
    /// Its `tty-info.img` entry id.
    pub tty_info_id: u32,
    /// The terminal's type, from `tty-info.img`.
    pub tty_type: Option<TtyType>,
    /// The pty index (`/dev/pts/<index>`), from `tty-info.img`.
    pub index: Option<u32>,
    /// The device number (`tty_info_entry.rdev`, the kernel's `new_encode_dev` form).
    pub rdev: Option<u32>,
    /// The path it was opened by, from its regular-file entry.
    pub path: Option<Arc<[u8]>>,
    /// Open flags.
    pub flags: OpenFlags,
}

impl TtyFile {
    /// The device's major number.
    pub fn major(&self) -> Option<u32> {
        self.rdev.map(|r| (r >> 8) & 0xfff)
    }

    /// The device's minor number.
    pub fn minor(&self) -> Option<u32> {
        self.rdev.map(|r| (r & 0xff) | ((r >> 12) & 0xfff00))
    }

    /// A pty's slave end (`/dev/pts/N`).
    pub fn is_pty_slave(&self) -> bool {
        // UNIX98_PTY_MAJOR_COUNT (8) majors from the first.
        self.major().is_some_and(|m| (DeviceMajor::UNIX98_PTY_SLAVE.0..DeviceMajor::UNIX98_PTY_SLAVE.0 + 8).contains(&m))
    }

    /// A pty's master end (opened through `/dev/ptmx`).
    pub fn is_pty_master(&self) -> bool {
        let ptmx = self.major() == Some(DeviceMajor::TTYAUX.0) && self.minor() == Some(2);
        ptmx || self.major().is_some_and(|m| (DeviceMajor::UNIX98_PTY_MASTER.0..DeviceMajor::UNIX98_PTY_MASTER.0 + 8).contains(&m))
    }
}

/// A task's open file descriptor (`fdinfo_entry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fd {
    /// The fd number.
    pub fd: u32,
    /// The file description's id.
    pub id: u32,
    /// The type the fd says the file has.
    pub type_: FdTypes,
    /// fd flags (`FD_CLOEXEC`).
    pub flags: u32,
    /// Its entry index in the fdinfo image.
    pub entry: usize,
}

/// Every file description of a checkpoint, by id.
#[derive(Debug, Default)]
pub struct FileTable {
    /// The first entry of each id, in image order (`files.img` first, then the legacy images).
    files: Vec<File>,
    /// Each id's position in `files`.
    by_id: IdMap<u32>,
    /// Entries whose id an earlier entry of another type has (see [`FileTable::get_typed`]).
    other_types: Vec<File>,
    duplicates: Vec<(usize, u32)>,
    /// Whether the checkpoint has `files.img` or one of the legacy file images.
    present: bool,
}

impl FileTable {
    /// The file description with this id (the first, when the id repeats under another type).
    #[inline]
    pub fn get(&self, id: u32) -> Option<&File> {
        self.by_id.get(id).map(|&i| &self.files[i as usize])
    }

    /// The file description with this type and id. CRIU looks files up by both
    /// (`find_file_desc_raw`), and its TUN dumper writes two entries under one id: the device's
    /// REG entry (`dump_tunfile` calls `dump_one_reg_file` with its own id, and `tunfile_open`
    /// opens the device with `open_reg_by_id` of that id), then the TUNF entry.
    pub fn get_typed(&self, type_: FdTypes, id: u32) -> Option<&File> {
        match self.get(id) {
            Some(f) if f.type_ == type_ => Some(f),
            _ => self.other_types.iter().find(|f| f.id == id && f.type_ == type_),
        }
    }

    /// Entries whose id an earlier entry of another type already has (TUN files), in image order.
    pub fn other_types(&self) -> &[File] {
        &self.other_types
    }

    /// Whether a file description has this id.
    pub fn contains(&self, id: u32) -> bool {
        self.by_id.get(id).is_some()
    }

    /// The regular file with this id.
    pub fn regular(&self, id: u32) -> Option<&RegularFile> {
        match &self.get(id)?.kind {
            FileKind::Regular(r) => Some(r),
            _ => None,
        }
    }

    /// Every file description in image order (the first of each id).
    pub fn iter(&self) -> impl Iterator<Item = &File> {
        self.files.iter()
    }

    /// How many file descriptions there are.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether the checkpoint has no file table at all (no `files.img`, no legacy image): every
    /// file reference is then unresolvable, which views report once.
    pub fn is_absent(&self) -> bool {
        !self.present
    }

    /// `files.img` entries whose type and id an earlier entry already has: `(entry index, id)`.
    pub fn duplicates(&self) -> &[(usize, u32)] {
        &self.duplicates
    }

    fn insert(&mut self, f: File) {
        let at = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        match self.by_id.insert_new(f.id, at) {
            Err(&mut i) => {
                if f.source != FileSource::Files {
                    // A legacy image's entry for an id files.img has: files.img wins (crit too).
                } else if self.files[i as usize].type_ == f.type_ || self.other_types.iter().any(|x| x.id == f.id && x.type_ == f.type_) {
                    self.duplicates.push((f.entry, f.id));
                } else {
                    self.other_types.push(f);
                }
            }
            Ok(()) => self.files.push(f),
        }
    }

    /// Reads `files.img` with `remap-fpath.img`, `memfd.img` and `tty-info.img`, then the legacy
    /// per-type images for ids `files.img` does not have (as CRIU's readers and crit do).
    pub(crate) fn load(ckpt: &Checkpoint) -> Result<FileTable, CheckpointError> {
        let remaps = load_remaps(ckpt)?;
        let memfd = load_memfd_inodes(ckpt)?;
        let ttys = load_tty_infos(ckpt)?;
        let sources = [FileSource::Files, FileSource::RegFiles, FileSource::Pipes, FileSource::UnixSk];
        let present = sources.iter().any(|s| ckpt.contains(s.file_name()));
        // One pass, each entry parsed once and not kept as a view (4 000 views of files.img were
        // 1.5 MB). A regular file's path is the first REG entry's of its id, seen by then; a
        // FIFO names the REG entry that holds its path, which may come later: those are filled in
        // after the pass.
        let name = FileSource::Files.file_name();
        let msgs = match typed_image(ckpt, name, Kind::Files)? {
            Some(img) => messages(&img, name)?,
            None => Vec::new(),
        };
        let mut t = FileTable { present, by_id: IdMap::for_entries(msgs.len()), ..FileTable::default() };
        t.files.reserve_exact(msgs.len());
        let mut paths: IdMap<Arc<[u8]>> = IdMap::for_entries(msgs.len());
        let mut fifos: Vec<(u32, usize, Option<u32>)> = Vec::new();
        for m in &msgs {
            let e: view::FileEntry<'_> = m.parse(name)?;
            if let Some(r) = e.reg() {
                paths.get_or_insert_with(e.id(), || Arc::from(r.name()));
            }
            let kind = file_kind(&e, &paths, &remaps, &memfd, &ttys);
            if let FileKind::Fifo { regf_id, .. } = kind {
                fifos.push((e.id(), m.index, regf_id));
            }
            t.insert(File { id: e.id(), source: FileSource::Files, entry: m.index, type_: e.type_(), kind });
        }
        drop(msgs);
        for (id, index, regf_id) in fifos {
            // The entry itself, wherever `insert` put it (not a duplicate it dropped).
            let first = t.by_id.get(id).map(|&i| i as usize);
            let stored = first.and_then(|i| t.files.get_mut(i)).into_iter().chain(t.other_types.iter_mut());
            for f in stored.filter(|f| f.source == FileSource::Files && f.entry == index) {
                if let FileKind::Fifo { path, .. } = &mut f.kind {
                    *path = regf_id.and_then(|r| paths.get(r)).cloned();
                }
            }
        }
        if let Some(v) = all_entries::<view::RegFileEntry>(ckpt, FileSource::RegFiles.file_name(), Kind::RegFiles)? {
            for (index, r) in v {
                let kind = FileKind::Regular(regular(&r, Arc::from(r.name()), remaps.get(&r.id()).copied()));
                t.insert(File { id: r.id(), source: FileSource::RegFiles, entry: index, type_: FdTypes::REG, kind });
            }
        }
        if let Some(v) = all_entries::<view::PipeEntry>(ckpt, FileSource::Pipes.file_name(), Kind::Pipes)? {
            for (index, p) in v {
                let kind = FileKind::Pipe { pipe_id: p.pipe_id(), flags: OpenFlags(p.flags()) };
                t.insert(File { id: p.id(), source: FileSource::Pipes, entry: index, type_: FdTypes::PIPE, kind });
            }
        }
        if let Some(v) = all_entries::<view::UnixSkEntry>(ckpt, FileSource::UnixSk.file_name(), Kind::Unixsk)? {
            for (index, u) in v {
                let kind = FileKind::Socket(Socket::Unix(unix(&u)));
                t.insert(File { id: u.id(), source: FileSource::UnixSk, entry: index, type_: FdTypes::UNIXSK, kind });
            }
        }
        Ok(t)
    }
}

fn regular(r: &view::RegFileEntry<'_>, path: Arc<[u8]>, remap: Option<Remap>) -> RegularFile {
    RegularFile {
        path,
        flags: OpenFlags(r.flags()),
        pos: r.pos(),
        size: r.size(),
        mode: r.mode(),
        mnt_id: r.mnt_id(),
        ext: r.ext() == Some(true),
        build_id: r.build_id().to_vec(),
        checksum: r.checksum(),
        checksum_config: r.checksum_config(),
        checksum_parameter: r.checksum_parameter(),
        remap,
    }
}

fn unix(u: &view::UnixSkEntry<'_>) -> UnixSocket {
    UnixSocket {
        ino: u.ino(),
        peer: u.peer(),
        type_: SocketType(u.type_()),
        state: TcpState(u.state()),
        name: u.name().to_vec(),
        backlog: u.backlog(),
        shutdown: u.shutdown().map(|s| s.0),
        deleted: u.deleted(),
        ns_id: u.ns_id(),
    }
}

/// An address from the image's 32-bit words: the kernel's `in_addr`/`in6_addr` bytes, read as
/// little-endian words by the (x86-64, little-endian) CRIU that dumped them.
pub(crate) fn ip_addr(words: &[u32]) -> Option<IpAddr> {
    match words {
        [a] => Some(IpAddr::V4(Ipv4Addr::from(a.to_le_bytes()))),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].into_iter().enumerate() {
                bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

fn file_kind(
    e: &view::FileEntry<'_>,
    paths: &IdMap<Arc<[u8]>>,
    remaps: &HashMap<u32, Remap>,
    memfd: &HashMap<u64, MemfdInode>,
    ttys: &HashMap<u32, TtyInfo>,
) -> FileKind {
    let path = |id: Option<u32>| id.and_then(|id| paths.get(id)).cloned();
    match e.type_() {
        FdTypes::REG => match e.reg() {
            Some(r) => FileKind::Regular(regular(&r, paths.get(e.id()).cloned().unwrap_or_else(|| Arc::from(r.name())), remaps.get(&e.id()).copied())),
            None => FileKind::Other,
        },
        FdTypes::PIPE => e.pipe().map_or(FileKind::Other, |p| FileKind::Pipe { pipe_id: p.pipe_id(), flags: OpenFlags(p.flags()) }),
        FdTypes::FIFO => e.fifo().map_or(FileKind::Other, |f| FileKind::Fifo { pipe_id: f.pipe_id(), regf_id: f.regf_id(), path: path(f.regf_id()) }),
        FdTypes::UNIXSK => e.usk().map_or(FileKind::Other, |u| FileKind::Socket(Socket::Unix(unix(&u)))),
        FdTypes::INETSK => e.isk().map_or(FileKind::Other, |i| {
            FileKind::Socket(Socket::Inet(InetSocket {
                ino: i.ino(),
                family: SocketFamily(i.family()),
                type_: SocketType(i.type_()),
                proto: IpProto(i.proto()),
                state: TcpState(i.state()),
                src: ip_addr(&i.src_addr().to_vec()),
                src_port: i.src_port(),
                dst: ip_addr(&i.dst_addr().to_vec()),
                dst_port: i.dst_port(),
                backlog: i.backlog(),
                ifname: i.ifname().map(<[u8]>::to_vec),
                ns_id: i.ns_id(),
            }))
        }),
        FdTypes::NETLINKSK => e.nlsk().map_or(FileKind::Other, |n| {
            FileKind::Socket(Socket::Netlink(NetlinkSocket {
                ino: n.ino(),
                protocol: NetlinkProtocol(n.protocol()),
                portid: n.portid(),
                groups: n.groups().to_vec(),
                dst_portid: n.dst_portid(),
                dst_group: n.dst_group(),
                ns_id: n.ns_id(),
            }))
        }),
        FdTypes::PACKETSK => e.psk().map_or(FileKind::Other, |p| {
            FileKind::Socket(Socket::Packet(PacketSocket {
                type_: SocketType(p.type_()),
                protocol: EtherType(u32::from(u16::from_be(p.protocol() as u16))),
                ifindex: p.ifindex(),
                ns_id: p.ns_id(),
            }))
        }),
        FdTypes::EVENTFD => e.efd().map_or(FileKind::Other, |f| FileKind::Eventfd { counter: f.counter(), flags: OpenFlags(f.flags()) }),
        FdTypes::EVENTPOLL => e.epfd().map_or(FileKind::Other, |f| FileKind::Eventpoll {
            targets: f.tfd().iter().map(|t| EpollTarget { tfd: t.tfd(), events: t.events(), data: t.data() }).collect(),
        }),
        FdTypes::SIGNALFD => e.sgfd().map_or(FileKind::Other, |f| FileKind::Signalfd { sigmask: f.sigmask() }),
        FdTypes::TIMERFD => e.tfd().map_or(FileKind::Other, |f| FileKind::Timerfd {
            clockid: f.clockid(),
            value: (f.vsec(), f.vnsec()),
            interval: (f.isec(), f.insec()),
            ticks: f.ticks(),
        }),
        FdTypes::INOTIFY => e.ify().map_or(FileKind::Other, |f| FileKind::Inotify {
            watches: f
                .wd()
                .iter()
                .map(|w| InotifyWatch { wd: w.wd(), mask: w.mask(), ino: w.i_ino(), path: w.f_handle().path().map(<[u8]>::to_vec) })
                .collect(),
        }),
        FdTypes::FANOTIFY => e.ffy().map_or(FileKind::Other, |f| FileKind::Fanotify { marks: f.mark().len() }),
        FdTypes::MEMFD => e.memfd().map_or(FileKind::Other, |m| {
            let inode = memfd.get(&u64::from(m.inode_id()));
            FileKind::Memfd(MemfdFile {
                inode_id: m.inode_id(),
                name: inode.map(|i| i.name.clone()),
                size: inode.map(|i| i.size),
                shmid: inode.map(|i| i.shmid),
                seals: inode.map(|i| i.seals),
                flags: OpenFlags(m.flags()),
                pos: m.pos(),
            })
        }),
        FdTypes::TTY => e.tty().map_or(FileKind::Other, |t| {
            let info = ttys.get(&t.tty_info_id());
            FileKind::Tty(TtyFile {
                tty_info_id: t.tty_info_id(),
                tty_type: info.map(|i| i.0),
                index: info.and_then(|i| i.1),
                rdev: info.map(|i| i.2),
                path: path(t.regf_id()),
                flags: OpenFlags(t.flags()),
            })
        }),
        FdTypes::PIDFD => e.pidfd().map_or(FileKind::Other, |p| FileKind::Pidfd { pid: p.nspid(), ino: p.ino() }),
        FdTypes::BPFMAP => e.bpf().map_or(FileKind::Other, |b| FileKind::BpfMap {
            map_type: b.map_type(),
            name: b.map_name().to_vec(),
            key_size: b.key_size(),
            value_size: b.value_size(),
            max_entries: b.max_entries(),
        }),
        FdTypes::TUNF => e.tunf().map_or(FileKind::Other, |t| FileKind::Tun {
            netdev: t.netdev().map(<[u8]>::to_vec),
            detached: t.detached() == Some(true),
        }),
        FdTypes::NS => e.nsf().map_or(FileKind::Other, |n| FileKind::Namespace { ns_id: n.ns_id(), ns_cflag: n.ns_cflag() }),
        FdTypes::EXT => FileKind::External,
        _ => FileKind::Other,
    }
}

/// `remap-fpath.img`: file id → how it is restored.
fn load_remaps(ckpt: &Checkpoint) -> Result<HashMap<u32, Remap>, CheckpointError> {
    let mut out = HashMap::new();
    let name = names::REMAP_FPATH.pattern();
    let Some(img) = typed_image(ckpt, name, Kind::RemapFpath)? else { return Ok(out) };
    for m in super::read::messages(&img, name)? {
        let r = m.parse::<view::RemapFilePathEntry>(name)?;
        if let Some(remap) = remap_of(&r, m.index) {
            out.entry(r.orig_id()).or_insert(remap);
        }
    }
    Ok(out)
}

/// What a `remap-fpath.img` entry says, with CRIU's rule for images from before `remap_type`
/// (`collect_one_remap`: the top bit of `remap_id` meant "ghost").
pub(crate) fn remap_of(r: &view::RemapFilePathEntry<'_>, entry: usize) -> Option<Remap> {
    Some(match r.remap_type() {
        Some(RemapType::GHOST) => Remap::Ghost { ghost_id: r.remap_id(), entry },
        Some(RemapType::LINKED) => Remap::Linked { link_id: r.remap_id(), entry },
        Some(RemapType::PROCFS) => Remap::Procfs { pid: r.remap_id(), entry },
        Some(other) => Remap::Other { remap_type: other.0, remap_id: r.remap_id(), entry },
        None if RemapId(r.remap_id()).contains(RemapId::GHOST) => Remap::Ghost { ghost_id: r.remap_id() & !RemapId::GHOST.0, entry },
        None => Remap::Linked { link_id: r.remap_id(), entry },
    })
}

/// A memfd inode of `memfd.img`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemfdInode {
    /// Its entry index in `memfd.img`.
    pub entry: usize,
    /// Its id, which memfd files refer to.
    pub inode_id: u64,
    /// Its name (without `memfd:`), raw.
    pub name: Arc<[u8]>,
    /// Its size in bytes.
    pub size: u64,
    /// The shared-memory id of its contents (`pagemap-shmem-<shmid>.img`).
    pub shmid: u32,
    /// Its seals.
    pub seals: Seals,
}

/// `memfd.img` by inode id (the first entry of each id).
pub(crate) fn load_memfd_inodes(ckpt: &Checkpoint) -> Result<HashMap<u64, MemfdInode>, CheckpointError> {
    let mut out = HashMap::new();
    for (entry, m) in all_entries::<view::MemfdInodeEntry>(ckpt, names::MEMFD.pattern(), Kind::MemfdInode)?.unwrap_or_default() {
        out.entry(m.inode_id()).or_insert_with(|| MemfdInode {
            entry,
            inode_id: m.inode_id(),
            name: Arc::from(m.name()),
            size: m.size(),
            shmid: m.shmid(),
            seals: Seals(m.seals()),
        });
    }
    Ok(out)
}

/// A `tty-info.img` entry: type, pty index, rdev.
type TtyInfo = (TtyType, Option<u32>, u32);

/// `tty-info.img`: id → its entry.
fn load_tty_infos(ckpt: &Checkpoint) -> Result<HashMap<u32, TtyInfo>, CheckpointError> {
    let mut out = HashMap::new();
    for (_, t) in all_entries::<view::TtyInfoEntry>(ckpt, names::TTY_INFO.pattern(), Kind::TtyInfo)?.unwrap_or_default() {
        out.entry(t.id()).or_insert((t.type_(), t.pty().map(|p| p.index()), t.rdev()));
    }
    Ok(out)
}
