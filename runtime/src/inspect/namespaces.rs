//! Which namespaces the tasks are in, and what the images say about each: UTS names
//! (`utsns-N.img`), SysV IPC objects and limits (`ipcns-shm/sem/msg/var-N.img`), time
//! namespace clocks (`timens-N.img`), user namespace id maps (`userns-N.img`), external PID
//! namespaces (`pidns-N.img`), and the seccomp filters of every thread (`seccomp.img`,
//! `core-TID.img`).
//!
//! Namespace ids are CRIU's own small numbers from `ids-PID.img`, shared by all tasks in the
//! same namespace; `inventory.img`'s `root_ids` are the namespaces CRIU itself ran in. A task
//! namespace equal to CRIU's own is the host's (or the container engine's): CRIU does not dump
//! it and restore puts the task into the restoring CRIU's namespace.
//!
//! `timens-N.img` holds the namespace's `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` as read at dump
//! time (CRIU sets the offsets on restore so that both continue from there); `timens-0.img` holds
//! the clocks of the dumper's own time namespace.

use std::io::{self, Write};

use criu_image_proto::schema::enums::SeccompMode;
use criu_image_proto::support::json::JsonWriter;
use criu_image_proto::view;

use super::consts::{SECCOMP_FILTER_FLAGS_TABLE, SOCK_FILTER_LEN};
use super::{
    Problem, Section, Table, Tasks, count, elide, entries, first_view, flag_names, json_flags, json_named, json_opt_bytes,
    json_opt_u64, json_problems, json_u32s, lossy, numbered_files, parse_entry, text_problems,
};
use crate::checkpoint::Checkpoint;
use crate::image::{Extra, Kind, ipc_msgs};

/// A kind of Linux namespace, as `ids-PID.img` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NsKind {
    /// PID namespace.
    Pid,
    /// Network namespace.
    Net,
    /// SysV IPC namespace.
    Ipc,
    /// UTS (host and domain name) namespace.
    Uts,
    /// Mount namespace.
    Mnt,
    /// User namespace.
    User,
    /// Cgroup namespace.
    Cgroup,
    /// Time namespace.
    Time,
}

impl NsKind {
    /// Every kind, in `ids-PID.img` order.
    pub const ALL: [NsKind; 8] =
        [NsKind::Pid, NsKind::Net, NsKind::Ipc, NsKind::Uts, NsKind::Mnt, NsKind::User, NsKind::Cgroup, NsKind::Time];

    /// The kind's lower-case name, as `/proc/PID/ns/` spells it.
    pub fn name(self) -> &'static str {
        match self {
            NsKind::Pid => "pid",
            NsKind::Net => "net",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Mnt => "mnt",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The image files CRIU writes for a namespace of this kind with CRIU id `id` (the ones that
    /// exist in a given checkpoint depend on what was dumped).
    pub fn image_names(self, id: u32) -> Vec<String> {
        let pats: &[&str] = match self {
            NsKind::Pid => &["pidns-"],
            NsKind::Net => {
                &["netns-", "netdev-", "ifaddr-", "route-", "route6-", "rule-", "nftables-", "iptables-", "ip6tables-"]
            }
            NsKind::Ipc => &["ipcns-var-", "ipcns-shm-", "ipcns-sem-", "ipcns-msg-"],
            NsKind::Uts => &["utsns-"],
            NsKind::Mnt => &["mountpoints-"],
            NsKind::User => &["userns-"],
            NsKind::Cgroup => &[],
            NsKind::Time => &["timens-"],
        };
        pats.iter().map(|p| format!("{p}{id}.img")).collect()
    }
}

/// One namespace the tasks are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// Its kind.
    pub kind: NsKind,
    /// CRIU's id for it.
    pub id: u32,
    /// PIDs of the tasks in it.
    pub tasks: Vec<u32>,
    /// Whether it is the namespace CRIU itself ran in (`inventory.img` `root_ids`): not dumped.
    pub dumpers: bool,
    /// The images of it that the checkpoint holds.
    pub images: Vec<String>,
}

/// `utsns-N.img`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uts {
    /// The UTS namespace id.
    pub id: u32,
    /// `nodename` (the host name).
    pub hostname: Vec<u8>,
    /// `domainname` (the NIS domain name; `(none)` when unset).
    pub domainname: Vec<u8>,
}

/// `ipc_desc_entry`: the `ipc_perm` of a SysV object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcDesc {
    /// The key it was created with (`IPC_PRIVATE` = 0).
    pub key: u32,
    /// Its id in the namespace.
    pub id: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Creator uid.
    pub cuid: u32,
    /// Creator gid.
    pub cgid: u32,
    /// Permission bits (and `SHM_*` state bits above them).
    pub mode: u32,
}

impl IpcDesc {
    fn of(d: &view::IpcDescEntry<'_>) -> IpcDesc {
        IpcDesc { key: d.key(), id: d.id(), uid: d.uid(), gid: d.gid(), cuid: d.cuid(), cgid: d.cgid(), mode: d.mode() }
    }
}

/// A SysV shared memory segment (`ipcns-shm-N.img`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcShm {
    /// Key, id, owner and mode.
    pub desc: IpcDesc,
    /// Size in bytes.
    pub size: u64,
    /// Whether its contents are in `pagemap-shmem-ID.img` (CRIU 3.x+) rather than after the entry.
    pub in_pagemaps: bool,
    /// `SHM_HUGETLB` page-size flag, when set.
    pub hugetlb_flag: Option<u32>,
}

/// A SysV semaphore set (`ipcns-sem-N.img`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcSem {
    /// Key, id, owner and mode.
    pub desc: IpcDesc,
    /// The semaphores' values (`nsems` of them).
    pub values: Vec<u16>,
}

/// A SysV message queue (`ipcns-msg-N.img`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcMsgQueue {
    /// Key, id, owner and mode.
    pub desc: IpcDesc,
    /// The queue's capacity in bytes (`msg_qbytes`).
    pub qbytes: u32,
    /// The queued messages: type and size in bytes.
    pub messages: Vec<(u64, u32)>,
}

/// `ipc_var_entry`: the namespace's `kernel.{sem,msg*,shm*}` and `fs.mqueue.*` sysctls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcLimits {
    /// `kernel.sem`: semmsl, semmns, semopm, semmni.
    pub sem: Vec<u32>,
    /// `kernel.msgmax`.
    pub msgmax: u32,
    /// `kernel.msgmnb`.
    pub msgmnb: u32,
    /// `kernel.msgmni`.
    pub msgmni: u32,
    /// `kernel.auto_msgmni`.
    pub auto_msgmni: u32,
    /// `kernel.shmmax` (bytes).
    pub shmmax: u64,
    /// `kernel.shmall` (pages).
    pub shmall: u64,
    /// `kernel.shmmni`.
    pub shmmni: u32,
    /// `kernel.shm_rmid_forced`.
    pub shm_rmid_forced: u32,
    /// `fs.mqueue.queues_max`.
    pub mq_queues_max: u32,
    /// `fs.mqueue.msg_max`.
    pub mq_msg_max: u32,
    /// `fs.mqueue.msgsize_max`.
    pub mq_msgsize_max: u32,
    /// `fs.mqueue.msg_default`.
    pub mq_msg_default: Option<u32>,
    /// `fs.mqueue.msgsize_default`.
    pub mq_msgsize_default: Option<u32>,
    /// `kernel.msg_next_id`.
    pub msg_next_id: Option<u32>,
    /// `kernel.sem_next_id`.
    pub sem_next_id: Option<u32>,
    /// `kernel.shm_next_id`.
    pub shm_next_id: Option<u32>,
}

/// A SysV IPC namespace's objects and limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipc {
    /// The IPC namespace id.
    pub id: u32,
    /// Shared memory segments.
    pub shm: Vec<IpcShm>,
    /// Semaphore sets.
    pub sem: Vec<IpcSem>,
    /// Message queues.
    pub msg: Vec<IpcMsgQueue>,
    /// The namespace's limits (`ipcns-var-N.img`).
    pub limits: Option<IpcLimits>,
}

/// A clock reading: seconds and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub sec: u64,
    /// Nanoseconds.
    pub nsec: u64,
}

/// `timens-N.img`: a time namespace's clocks at dump time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeNs {
    /// The time namespace id (0: the dumper's own clocks).
    pub id: u32,
    /// `CLOCK_MONOTONIC` in the namespace when it was dumped.
    pub monotonic: Timespec,
    /// `CLOCK_BOOTTIME` in the namespace when it was dumped.
    pub boottime: Timespec,
}

/// A uid or gid map line: `first` inside maps to `lower_first` outside, `count` ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdExtent {
    /// First id inside the namespace.
    pub first: u32,
    /// First id in the parent namespace.
    pub lower_first: u32,
    /// Number of ids.
    pub count: u32,
}

/// `userns-N.img`: a user namespace's id maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserNs {
    /// The user namespace id.
    pub id: u32,
    /// `uid_map`.
    pub uid_map: Vec<IdExtent>,
    /// `gid_map`.
    pub gid_map: Vec<IdExtent>,
}

/// `pidns-N.img`: a PID namespace CRIU was told is external (`--external pid[...]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidNs {
    /// The PID namespace id.
    pub id: u32,
    /// The key restore looks up with `--inherit-fd`/`--external`.
    pub ext_key: Option<Vec<u8>>,
}

/// One filter of `seccomp.img`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeccompFilter {
    /// Its index in `seccomp.img` (what threads and `prev` refer to).
    pub index: u32,
    /// Classic BPF instructions in the program.
    pub instructions: usize,
    /// `SECCOMP_FILTER_FLAG_*` it was installed with.
    pub flags: u32,
    /// CRIU's `prev` link: the filter restore installs right after this one in the same chain
    /// (CRIU writes a chain newest first and links each older filter to the one before it in the
    /// image, so following `prev` from a thread's filter goes from the oldest to the newest).
    pub prev: Option<u32>,
    /// The lowest index of a filter with the same program bytes (itself when unique): container
    /// runtimes install one profile per process, so one program often appears many times.
    pub same_as: u32,
}

/// A thread's seccomp state (`core-TID.img`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadSeccomp {
    /// Thread id.
    pub tid: u32,
    /// `disabled`, `strict` or `filter`.
    pub mode: SeccompMode,
    /// With `filter`: the chain's filters in the order restore installs them (the order they
    /// were installed in): the thread's `seccomp_filter`, then along `prev`.
    pub chain: Vec<u32>,
}

/// Seccomp filters and the threads that use them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seccomp {
    /// `seccomp.img`'s filters.
    pub filters: Vec<SeccompFilter>,
    /// Threads whose mode is not `disabled`, in `pstree.img` order.
    pub threads: Vec<ThreadSeccomp>,
    /// Threads read with seccomp disabled.
    pub disabled_threads: usize,
}

/// The namespaces section.
#[derive(Clone, Debug, Default)]
pub struct Namespaces {
    /// Every namespace some task is in, by kind then id.
    pub namespaces: Vec<Namespace>,
    /// UTS namespaces that were dumped.
    pub uts: Vec<Uts>,
    /// IPC namespaces that were dumped.
    pub ipc: Vec<Ipc>,
    /// Time namespaces' clocks (including `timens-0.img`, the dumper's).
    pub time: Vec<TimeNs>,
    /// User namespaces that were dumped.
    pub user: Vec<UserNs>,
    /// PID namespaces with an image.
    pub pid: Vec<PidNs>,
    /// Seccomp filters.
    pub seccomp: Seccomp,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Namespaces {
    /// Reads `pstree.img`, `ids-PID.img`, `inventory.img`, the namespace images and the seccomp
    /// state of every thread. Never fails: what cannot be read is in `problems`.
    pub fn load(ckpt: &Checkpoint) -> Namespaces {
        let mut problems = Vec::new();
        let tasks = Tasks::load(ckpt, &mut problems);
        let mut ns = Namespaces::default();
        for kind in NsKind::ALL {
            let mut ids: Vec<u32> = tasks.tasks.iter().filter_map(|t| t.ids.and_then(|i| i.get(kind))).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                let images = kind.image_names(id).into_iter().filter(|n| ckpt.contains(n)).collect();
                ns.namespaces.push(Namespace {
                    kind,
                    id,
                    tasks: tasks.using(kind, id),
                    dumpers: tasks.root.and_then(|r| r.get(kind)) == Some(id),
                    images,
                });
            }
        }
        for (id, name) in numbered_files(ckpt, "utsns-", ".img") {
            if let Some(u) = first_view::<view::UtsnsEntry<'_>>(ckpt, &name, Kind::Utsns, &mut problems) {
                ns.uts.push(Uts { id, hostname: u.nodename().to_vec(), domainname: u.domainname().to_vec() });
            }
        }
        let mut ipc_ids: Vec<u32> = ["ipcns-var-", "ipcns-shm-", "ipcns-sem-", "ipcns-msg-"]
            .iter()
            .flat_map(|p| numbered_files(ckpt, p, ".img"))
            .map(|(id, _)| id)
            .collect();
        ipc_ids.sort_unstable();
        ipc_ids.dedup();
        for id in ipc_ids {
            ns.ipc.push(load_ipc(ckpt, id, &mut problems));
        }
        for (id, name) in numbered_files(ckpt, "timens-", ".img") {
            if let Some(t) = first_view::<view::TimensEntry<'_>>(ckpt, &name, Kind::Timens, &mut problems) {
                let ts = |v: view::Timespec<'_>| Timespec { sec: v.tv_sec(), nsec: v.tv_nsec() };
                ns.time.push(TimeNs { id, monotonic: ts(t.monotonic()), boottime: ts(t.boottime()) });
            }
        }
        for (id, name) in numbered_files(ckpt, "userns-", ".img") {
            if let Some(u) = first_view::<view::UsernsEntry<'_>>(ckpt, &name, Kind::Userns, &mut problems) {
                let ext = |e: view::UidGidExtent<'_>| IdExtent { first: e.first(), lower_first: e.lower_first(), count: e.count() };
                ns.user.push(UserNs { id, uid_map: u.uid_map().into_iter().map(ext).collect(), gid_map: u.gid_map().into_iter().map(ext).collect() });
            }
        }
        for (id, name) in numbered_files(ckpt, "pidns-", ".img") {
            if let Some(p) = first_view::<view::PidnsEntry<'_>>(ckpt, &name, Kind::Pidns, &mut problems) {
                ns.pid.push(PidNs { id, ext_key: p.ext_key().map(<[u8]>::to_vec) });
            }
        }
        ns.seccomp = load_seccomp(ckpt, &tasks, &mut problems);
        ns.problems = problems;
        ns
    }
}

fn load_ipc(ckpt: &Checkpoint, id: u32, problems: &mut Vec<Problem>) -> Ipc {
    let mut ipc = Ipc { id, ..Ipc::default() };
    let name = format!("ipcns-var-{id}.img");
    if let Some(v) = first_view::<view::IpcVarEntry<'_>>(ckpt, &name, Kind::IpcVar, problems) {
        ipc.limits = Some(IpcLimits {
            sem: v.sem_ctls().into_iter().collect(),
            msgmax: v.msg_ctlmax(),
            msgmnb: v.msg_ctlmnb(),
            msgmni: v.msg_ctlmni(),
            auto_msgmni: v.auto_msgmni(),
            shmmax: v.shm_ctlmax(),
            shmall: v.shm_ctlall(),
            shmmni: v.shm_ctlmni(),
            shm_rmid_forced: v.shm_rmid_forced(),
            mq_queues_max: v.mq_queues_max(),
            mq_msg_max: v.mq_msg_max(),
            mq_msgsize_max: v.mq_msgsize_max(),
            mq_msg_default: v.mq_msg_default(),
            mq_msgsize_default: v.mq_msgsize_default(),
            msg_next_id: v.msg_next_id(),
            sem_next_id: v.sem_next_id(),
            shm_next_id: v.shm_next_id(),
        });
    }
    let name = format!("ipcns-shm-{id}.img");
    for e in entries(ckpt, &name, Kind::IpcnsShm, problems).unwrap_or_default() {
        if let Some(v) = parse_entry::<view::IpcShmEntry<'_>>(&name, &e, problems) {
            ipc.shm.push(IpcShm {
                desc: IpcDesc::of(&v.desc()),
                size: v.size(),
                in_pagemaps: v.in_pagemaps() == Some(true),
                hugetlb_flag: v.hugetlb_flag(),
            });
        }
    }
    let name = format!("ipcns-sem-{id}.img");
    for e in entries(ckpt, &name, Kind::IpcnsSem, problems).unwrap_or_default() {
        if let Some(v) = parse_entry::<view::IpcSemEntry<'_>>(&name, &e, problems) {
            // Host-endian u16 values, as the image framing already checked their length.
            let values = match e.extra {
                Extra::Sem { values, .. } => values.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect(),
                _ => Vec::new(),
            };
            ipc.sem.push(IpcSem { desc: IpcDesc::of(&v.desc()), values });
        }
    }
    let name = format!("ipcns-msg-{id}.img");
    for e in entries(ckpt, &name, Kind::IpcnsMsg, problems).unwrap_or_default() {
        if let Some(v) = parse_entry::<view::IpcMsgEntry<'_>>(&name, &e, problems) {
            let messages = match e.extra {
                Extra::Msgs { records, .. } => ipc_msgs(records).map(|(m, _)| (m.mtype(), m.msize())).collect(),
                _ => Vec::new(),
            };
            ipc.msg.push(IpcMsgQueue { desc: IpcDesc::of(&v.desc()), qbytes: v.qbytes(), messages });
        }
    }
    ipc
}

fn load_seccomp(ckpt: &Checkpoint, tasks: &Tasks, problems: &mut Vec<Problem>) -> Seccomp {
    let mut s = Seccomp::default();
    let mut programs: Vec<Vec<u8>> = Vec::new();
    if let Some(e) = first_view::<view::SeccompEntry<'_>>(ckpt, "seccomp.img", Kind::Seccomp, problems) {
        for (i, f) in e.seccomp_filters().into_iter().enumerate() {
            let prog = f.filter();
            if prog.len() % SOCK_FILTER_LEN != 0 {
                problems.push(Problem {
                    file: "seccomp.img".into(),
                    message: format!(
                        "filter {i}: {} bytes is not a whole number of {SOCK_FILTER_LEN}-byte BPF instructions",
                        prog.len()
                    ),
                });
            }
            let same_as = programs.iter().position(|p| p == prog).unwrap_or(i) as u32;
            programs.push(prog.to_vec());
            s.filters.push(SeccompFilter {
                index: i as u32,
                instructions: prog.len() / SOCK_FILTER_LEN,
                flags: f.flags().unwrap_or(0),
                prev: f.prev(),
                same_as,
            });
        }
    }
    for t in &tasks.tasks {
        for &tid in &t.threads {
            let name = format!("core-{tid}.img");
            let Some(core) = first_view::<view::CoreEntry<'_>>(ckpt, &name, Kind::Core, problems) else { continue };
            let Some(tc) = core.thread_core() else { continue };
            let mode = tc.seccomp_mode().unwrap_or(SeccompMode::DISABLED);
            if mode == SeccompMode::DISABLED {
                s.disabled_threads += 1;
                continue;
            }
            let mut chain = Vec::new();
            let mut next = tc.seccomp_filter();
            // Follow `prev` links; a cycle or a dangling index in a corrupt image stops the walk.
            while let Some(i) = next {
                if chain.len() > s.filters.len() || chain.contains(&i) {
                    problems.push(Problem { file: "seccomp.img".into(), message: format!("filter chain of thread {tid} loops at filter {i}") });
                    break;
                }
                let Some(f) = s.filters.get(i as usize) else {
                    problems.push(Problem {
                        file: name.clone(),
                        message: format!("seccomp filter {i} is not in seccomp.img ({} filters)", s.filters.len()),
                    });
                    break;
                };
                chain.push(i);
                next = f.prev;
            }
            s.threads.push(ThreadSeccomp { tid, mode, chain });
        }
    }
    s
}

fn mode_name(m: SeccompMode) -> Option<&'static str> {
    Some(match m {
        SeccompMode::DISABLED => "disabled",
        SeccompMode::STRICT => "strict",
        SeccompMode::FILTER => "filter",
        _ => return None,
    })
}

/// `0640`-style permission text of an IPC mode.
fn perms(mode: u32) -> String {
    format!("{:04o}", mode & 0o777)
}

fn timespec_text(t: Timespec) -> String {
    let s = t.sec;
    let (d, h, m, sec) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    let ms = t.nsec / 1_000_000;
    if d > 0 { format!("{d}d {h:02}:{m:02}:{sec:02}.{ms:03}") } else { format!("{h:02}:{m:02}:{sec:02}.{ms:03}") }
}

impl Section for Namespaces {
    fn name(&self) -> &'static str {
        "namespaces"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// A table of namespaces (kind, id, tasks, images; `host` marks CRIU's own), then one block
    /// per dumped namespace's contents and the seccomp filters.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        b.extend_from_slice(b"namespaces (host = the dumper's own, not dumped)\n");
        let mut t = Table::new(&["KIND", "ID", "", "TASKS", "IMAGES (-ID.img)"], &[false, true, false, false, false]);
        for n in &self.namespaces {
            t.row(vec![
                n.kind.name().into(),
                n.id.to_string(),
                if n.dumpers { "host".into() } else { String::new() },
                super::join_or_dash(&n.tasks),
                // All of a namespace's images end in `-ID.img`: the kinds say enough.
                if n.images.is_empty() {
                    "-".into()
                } else {
                    let suffix = format!("-{}.img", n.id);
                    elide(&n.images.iter().map(|i| i.strip_suffix(&suffix).unwrap_or(i)).collect::<Vec<_>>().join(" "), 48)
                },
            ]);
        }
        t.render("  ", &mut b);
        for u in &self.uts {
            b.extend_from_slice(
                format!("uts {}: hostname {}, domain {}\n", u.id, lossy(&u.hostname), lossy(&u.domainname)).as_bytes(),
            );
        }
        for ipc in &self.ipc {
            b.extend_from_slice(
                format!(
                    "ipc {}: {}, {}, {}\n",
                    ipc.id,
                    count(ipc.shm.len(), "shared memory segment"),
                    count(ipc.sem.len(), "semaphore set"),
                    count(ipc.msg.len(), "message queue")
                )
                .as_bytes(),
            );
            let mut t = Table::new(&["TYPE", "KEY", "ID", "OWNER", "PERMS", "WHAT"], &[false, false, true, false, false, false]);
            for s in &ipc.shm {
                t.row(vec![
                    "shm".into(),
                    format!("{:#010x}", s.desc.key),
                    s.desc.id.to_string(),
                    format!("{}:{}", s.desc.uid, s.desc.gid),
                    perms(s.desc.mode),
                    format!("{} bytes", s.size),
                ]);
            }
            for s in &ipc.sem {
                let vals = s.values.iter().map(u16::to_string).collect::<Vec<_>>().join(" ");
                t.row(vec![
                    "sem".into(),
                    format!("{:#010x}", s.desc.key),
                    s.desc.id.to_string(),
                    format!("{}:{}", s.desc.uid, s.desc.gid),
                    perms(s.desc.mode),
                    format!("{} semaphores: {vals}", s.values.len()),
                ]);
            }
            for q in &ipc.msg {
                let bytes: u64 = q.messages.iter().map(|m| u64::from(m.1)).sum();
                t.row(vec![
                    "msg".into(),
                    format!("{:#010x}", q.desc.key),
                    q.desc.id.to_string(),
                    format!("{}:{}", q.desc.uid, q.desc.gid),
                    perms(q.desc.mode),
                    format!("{} messages, {bytes} of {} bytes", q.messages.len(), q.qbytes),
                ]);
            }
            if t.rows.len() > 1 {
                t.render("  ", &mut b);
            }
        }
        for tn in &self.time {
            let whose = if tn.id == 0 { " (the dumper's)".to_string() } else { String::new() };
            b.extend_from_slice(
                format!(
                    "time {}{whose}: monotonic {}, boottime {} at dump\n",
                    tn.id,
                    timespec_text(tn.monotonic),
                    timespec_text(tn.boottime)
                )
                .as_bytes(),
            );
        }
        for u in &self.user {
            let map = |m: &[IdExtent]| {
                m.iter().map(|e| format!("{}->{}+{}", e.first, e.lower_first, e.count)).collect::<Vec<_>>().join(" ")
            };
            b.extend_from_slice(format!("user {}: uid {} gid {}\n", u.id, map(&u.uid_map), map(&u.gid_map)).as_bytes());
        }
        for p in &self.pid {
            b.extend_from_slice(
                format!("pid {}: external, key {}\n", p.id, p.ext_key.as_deref().map_or("-".into(), lossy)).as_bytes(),
            );
        }
        let sc = &self.seccomp;
        let distinct = sc.filters.iter().filter(|f| f.same_as == f.index).count();
        b.extend_from_slice(
            format!(
                "seccomp: {} ({distinct} distinct), {} filtered, {} not\n",
                count(sc.filters.len(), "filter"),
                count(sc.threads.len(), "thread"),
                sc.disabled_threads
            )
            .as_bytes(),
        );
        if !sc.filters.is_empty() {
            let mut t = Table::new(&["FILTER", "INSNS", "FLAGS", "NEXT", "SAME AS", "THREADS"], &[true, true, false, false, false, false]);
            for f in &sc.filters {
                let users: Vec<u32> = sc.threads.iter().filter(|th| th.chain.contains(&f.index)).map(|th| th.tid).collect();
                t.row(vec![
                    f.index.to_string(),
                    f.instructions.to_string(),
                    super::join_or_dash(&flag_names(u64::from(f.flags), SECCOMP_FILTER_FLAGS_TABLE)),
                    f.prev.map_or("-".into(), |p| p.to_string()),
                    if f.same_as == f.index { "-".into() } else { f.same_as.to_string() },
                    super::join_or_dash(&users),
                ]);
            }
            t.render("  ", &mut b);
        }
        for th in sc.threads.iter().filter(|t| t.mode != SeccompMode::FILTER) {
            b.extend_from_slice(format!("  thread {}: {}\n", th.tid, mode_name(th.mode).unwrap_or("unknown mode")).as_bytes());
        }
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```json
    /// {"namespaces": [{"kind": "net", "id": 10, "tasks": [1], "host": false,
    ///                  "images": ["netns-10.img", ...]}, ...],
    ///  "uts": [{"id": 12, "hostname": "...", "domainname": "..."}],
    ///  "ipc": [{"id": 11,
    ///           "shm": [{"key": 4660, "id": 0, "uid": 0, "gid": 0, "cuid": 0, "cgid": 0,
    ///                    "mode": 416, "size": 65536, "in_pagemaps": true, "hugetlb_flag": null}],
    ///           "sem": [{...desc..., "nsems": 3, "values": [1, 5, 42]}],
    ///           "msg": [{...desc..., "qbytes": 16384, "messages": [{"mtype": 1, "size": 5}]}],
    ///           "limits": {"sem": [32000, ...], "msgmax": 8192, ..., "shm_next_id": null} | null}],
    ///  "time": [{"id": 13, "monotonic_s": 87416, "monotonic_ns": 252217241,
    ///            "boottime_s": 4616, "boottime_ns": 252217358}],
    ///  "user": [{"id": 7, "uid_map": [{"first": 0, "lower_first": 100000, "count": 65536}],
    ///            "gid_map": [...]}],
    ///  "pid": [{"id": 9, "ext_key": "..." | null}],
    ///  "seccomp": {"filters": [{"index": 0, "instructions": 1158, "flags": ["tsync"],
    ///                           "prev": null, "same_as": 0}],
    ///              "threads": [{"tid": 1, "mode": "filter", "chain": [0]}],
    ///              "disabled_threads": 0},
    ///  "problems": [...]}
    /// ```
    /// IPC keys, ids and modes are numbers (`mode` as the kernel keeps it).
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("namespaces");
        w.begin_array();
        for n in &self.namespaces {
            w.begin_object();
            w.key("kind");
            w.str(n.kind.name());
            w.key("id");
            w.u64(u64::from(n.id));
            w.key("tasks");
            json_u32s(w, &n.tasks);
            w.key("host");
            w.bool(n.dumpers);
            w.key("images");
            w.begin_array();
            for i in &n.images {
                w.str(i);
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key("uts");
        w.begin_array();
        for u in &self.uts {
            w.begin_object();
            w.key("id");
            w.u64(u64::from(u.id));
            w.key("hostname");
            w.str_bytes(&u.hostname);
            w.key("domainname");
            w.str_bytes(&u.domainname);
            w.end_object();
        }
        w.end_array();
        w.key("ipc");
        w.begin_array();
        for ipc in &self.ipc {
            write_ipc_json(w, ipc);
        }
        w.end_array();
        w.key("time");
        w.begin_array();
        for t in &self.time {
            w.begin_object();
            w.key("id");
            w.u64(u64::from(t.id));
            for (k, v) in [
                ("monotonic_s", t.monotonic.sec),
                ("monotonic_ns", t.monotonic.nsec),
                ("boottime_s", t.boottime.sec),
                ("boottime_ns", t.boottime.nsec),
            ] {
                w.key(k);
                w.u64(v);
            }
            w.end_object();
        }
        w.end_array();
        w.key("user");
        w.begin_array();
        for u in &self.user {
            w.begin_object();
            w.key("id");
            w.u64(u64::from(u.id));
            for (k, m) in [("uid_map", &u.uid_map), ("gid_map", &u.gid_map)] {
                w.key(k);
                w.begin_array();
                for e in m {
                    w.begin_object();
                    w.key("first");
                    w.u64(u64::from(e.first));
                    w.key("lower_first");
                    w.u64(u64::from(e.lower_first));
                    w.key("count");
                    w.u64(u64::from(e.count));
                    w.end_object();
                }
                w.end_array();
            }
            w.end_object();
        }
        w.end_array();
        w.key("pid");
        w.begin_array();
        for p in &self.pid {
            w.begin_object();
            w.key("id");
            w.u64(u64::from(p.id));
            w.key("ext_key");
            json_opt_bytes(w, p.ext_key.as_deref());
            w.end_object();
        }
        w.end_array();
        w.key("seccomp");
        w.begin_object();
        w.key("filters");
        w.begin_array();
        for f in &self.seccomp.filters {
            w.begin_object();
            w.key("index");
            w.u64(u64::from(f.index));
            w.key("instructions");
            w.u64(f.instructions as u64);
            w.key("flags");
            json_flags(w, u64::from(f.flags), SECCOMP_FILTER_FLAGS_TABLE);
            w.key("prev");
            json_opt_u64(w, f.prev.map(u64::from));
            w.key("same_as");
            w.u64(u64::from(f.same_as));
            w.end_object();
        }
        w.end_array();
        w.key("threads");
        w.begin_array();
        for t in &self.seccomp.threads {
            w.begin_object();
            w.key("tid");
            w.u64(u64::from(t.tid));
            w.key("mode");
            json_named(w, mode_name(t.mode), i64::from(t.mode.0));
            w.key("chain");
            json_u32s(w, &t.chain);
            w.end_object();
        }
        w.end_array();
        w.key("disabled_threads");
        w.u64(self.seccomp.disabled_threads as u64);
        w.end_object();
        json_problems(w, &self.problems);
        w.end_object();
    }
}

fn write_desc_json(w: &mut JsonWriter<'_>, d: &IpcDesc) {
    for (k, v) in [("key", d.key), ("id", d.id), ("uid", d.uid), ("gid", d.gid), ("cuid", d.cuid), ("cgid", d.cgid), ("mode", d.mode)] {
        w.key(k);
        w.u64(u64::from(v));
    }
}

fn write_ipc_json(w: &mut JsonWriter<'_>, ipc: &Ipc) {
    w.begin_object();
    w.key("id");
    w.u64(u64::from(ipc.id));
    w.key("shm");
    w.begin_array();
    for s in &ipc.shm {
        w.begin_object();
        write_desc_json(w, &s.desc);
        w.key("size");
        w.u64(s.size);
        w.key("in_pagemaps");
        w.bool(s.in_pagemaps);
        w.key("hugetlb_flag");
        json_opt_u64(w, s.hugetlb_flag.map(u64::from));
        w.end_object();
    }
    w.end_array();
    w.key("sem");
    w.begin_array();
    for s in &ipc.sem {
        w.begin_object();
        write_desc_json(w, &s.desc);
        w.key("nsems");
        w.u64(s.values.len() as u64);
        w.key("values");
        w.begin_array();
        for &v in &s.values {
            w.u64(u64::from(v));
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("msg");
    w.begin_array();
    for q in &ipc.msg {
        w.begin_object();
        write_desc_json(w, &q.desc);
        w.key("qbytes");
        w.u64(u64::from(q.qbytes));
        w.key("messages");
        w.begin_array();
        for &(mtype, size) in &q.messages {
            w.begin_object();
            w.key("mtype");
            w.u64(mtype);
            w.key("size");
            w.u64(u64::from(size));
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("limits");
    match &ipc.limits {
        None => w.raw_value("null"),
        Some(l) => {
            w.begin_object();
            w.key("sem");
            json_u32s(w, &l.sem);
            for (k, v) in [
                ("msgmax", u64::from(l.msgmax)),
                ("msgmnb", u64::from(l.msgmnb)),
                ("msgmni", u64::from(l.msgmni)),
                ("auto_msgmni", u64::from(l.auto_msgmni)),
                ("shmmax", l.shmmax),
                ("shmall", l.shmall),
                ("shmmni", u64::from(l.shmmni)),
                ("shm_rmid_forced", u64::from(l.shm_rmid_forced)),
                ("mq_queues_max", u64::from(l.mq_queues_max)),
                ("mq_msg_max", u64::from(l.mq_msg_max)),
                ("mq_msgsize_max", u64::from(l.mq_msgsize_max)),
            ] {
                w.key(k);
                w.u64(v);
            }
            for (k, v) in [
                ("mq_msg_default", l.mq_msg_default),
                ("mq_msgsize_default", l.mq_msgsize_default),
                ("msg_next_id", l.msg_next_id),
                ("sem_next_id", l.sem_next_id),
                ("shm_next_id", l.shm_next_id),
            ] {
                w.key(k);
                json_opt_u64(w, v.map(u64::from));
            }
            w.end_object();
        }
    }
    w.end_object();
}
