//! What a task's core, ids and fs images say: state, command name, credentials, namespaces,
//! working directory.

use criu_image_proto::kernel::TaskState;
use criu_image_proto::schema::enums::{CoreEntryMarch, SeccompMode};
use criu_image_proto::view;

/// Credentials of a thread (`creds_entry`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Creds {
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved user id.
    pub suid: u32,
    /// Saved group id.
    pub sgid: u32,
    /// Filesystem user id.
    pub fsuid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Effective capabilities, as the kernel's 32-bit words (lowest first).
    pub cap_eff: Vec<u32>,
    /// Permitted capabilities.
    pub cap_prm: Vec<u32>,
    /// Inheritable capabilities.
    pub cap_inh: Vec<u32>,
    /// The capability bounding set.
    pub cap_bnd: Vec<u32>,
    /// Ambient capabilities.
    pub cap_amb: Vec<u32>,
    /// `securebits`.
    pub secbits: u32,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privs: Option<u32>,
    /// The LSM profile (SELinux context, AppArmor profile), raw.
    pub lsm_profile: Option<Vec<u8>>,
}

impl Creds {
    pub(crate) fn from_view(c: &view::CredsEntry<'_>) -> Creds {
        Creds {
            uid: c.uid(),
            gid: c.gid(),
            euid: c.euid(),
            egid: c.egid(),
            suid: c.suid(),
            sgid: c.sgid(),
            fsuid: c.fsuid(),
            fsgid: c.fsgid(),
            groups: c.groups().to_vec(),
            cap_eff: c.cap_eff().to_vec(),
            cap_prm: c.cap_prm().to_vec(),
            cap_inh: c.cap_inh().to_vec(),
            cap_bnd: c.cap_bnd().to_vec(),
            cap_amb: c.cap_amb().to_vec(),
            secbits: c.secbits(),
            no_new_privs: c.no_new_privs(),
            lsm_profile: c.lsm_profile().map(<[u8]>::to_vec),
        }
    }
}

/// The task-wide part of a task's main-thread core (`task_core_entry`), and the architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskCore {
    /// The state the task is restored in, with CRIU's names. A zombie is recorded as
    /// [`TaskState::DEAD`]: CRIU's seize turns the kernel's zombie state into `TASK_DEAD` and
    /// dumps such a task with its core alone (`dump_one_zombie`). crit's decode labels these
    /// values differently (3 "Zombie", 6 "Stopped"); that is crit's bug, kept only in
    /// crit-compatible output.
    pub state: TaskState,
    /// The exit code of a zombie.
    pub exit_code: u32,
    /// The command name (`comm`, at most 15 bytes), raw.
    pub comm: Vec<u8>,
    /// `personality(2)` flags.
    pub personality: u32,
    /// The task's `PF_*` flags.
    pub flags: u32,
    /// The audit login uid.
    pub loginuid: Option<u32>,
    /// `/proc/PID/oom_score_adj`.
    pub oom_score_adj: Option<i32>,
    /// `PR_SET_CHILD_SUBREAPER`.
    pub child_subreaper: bool,
    /// The architecture the core was dumped on.
    pub arch: CoreEntryMarch,
}

/// One thread: its id and what its own core says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// The thread id (in the dumped pid namespace).
    pub tid: u32,
    /// Its command name, when its core records one (threads can be renamed).
    pub comm: Option<Vec<u8>>,
    /// Its credentials.
    pub creds: Option<Creds>,
    /// Its seccomp mode.
    pub seccomp_mode: Option<SeccompMode>,
    /// Its scheduling policy (`SCHED_*`).
    pub sched_policy: Option<u32>,
    /// Its nice value.
    pub sched_nice: Option<i32>,
}

impl Thread {
    pub(crate) fn from_core(tid: u32, core: &view::CoreEntry<'_>) -> Thread {
        let tc = core.thread_core();
        Thread {
            tid,
            comm: tc.as_ref().and_then(|t| t.comm()).map(<[u8]>::to_vec),
            creds: tc.as_ref().and_then(|t| t.creds()).map(|c| Creds::from_view(&c)),
            seccomp_mode: tc.as_ref().and_then(|t| t.seccomp_mode()),
            sched_policy: tc.as_ref().and_then(|t| t.sched_policy()),
            sched_nice: tc.as_ref().and_then(|t| t.sched_nice()),
        }
    }
}

/// The ids of the kernel objects a task shares with others (`ids-<pid>.img`): equal ids mean the
/// same object. Namespace ids name the per-namespace images (`utsns-<id>.img`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TaskIds {
    /// The address space (tasks sharing it are `CLONE_VM` siblings).
    pub vm_id: u32,
    /// The file descriptor table: names `fdinfo-<files_id>.img`.
    pub files_id: u32,
    /// The `fs_struct` (cwd, root, umask).
    pub fs_id: u32,
    /// The signal handlers table.
    pub sighand_id: u32,
    /// The pid namespace.
    pub pid_ns_id: Option<u32>,
    /// The network namespace (`netdev-<id>.img`, `ifaddr-<id>.img`, ...).
    pub net_ns_id: Option<u32>,
    /// The IPC namespace (`ipcns-*-<id>.img`).
    pub ipc_ns_id: Option<u32>,
    /// The UTS namespace (`utsns-<id>.img`).
    pub uts_ns_id: Option<u32>,
    /// The mount namespace (`mountpoints-<id>.img`).
    pub mnt_ns_id: Option<u32>,
    /// The user namespace.
    pub user_ns_id: Option<u32>,
    /// The cgroup namespace.
    pub cgroup_ns_id: Option<u32>,
    /// The time namespace (`timens-<id>.img`).
    pub time_ns_id: Option<u32>,
}

impl TaskIds {
    pub(crate) fn from_view(v: &view::TaskKobjIdsEntry<'_>) -> TaskIds {
        TaskIds {
            vm_id: v.vm_id(),
            files_id: v.files_id(),
            fs_id: v.fs_id(),
            sighand_id: v.sighand_id(),
            pid_ns_id: v.pid_ns_id(),
            net_ns_id: v.net_ns_id(),
            ipc_ns_id: v.ipc_ns_id(),
            uts_ns_id: v.uts_ns_id(),
            mnt_ns_id: v.mnt_ns_id(),
            user_ns_id: v.user_ns_id(),
            cgroup_ns_id: v.cgroup_ns_id(),
            time_ns_id: v.time_ns_id(),
        }
    }
}

/// `fs-<pid>.img`: working directory and root as file ids of `files.img`, and the umask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsIds {
    /// The working directory's file id.
    pub cwd_id: u32,
    /// The root directory's file id.
    pub root_id: u32,
    /// The umask.
    pub umask: Option<u32>,
}

/// What `inventory.img` says about the whole dump.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Inventory {
    /// The image format version: 2 (or 1, before CRIU 1.3).
    pub img_version: u32,
    /// Whether fdinfo images are named by files id (`fdinfo-<files_id>.img`), as every CRIU
    /// since 2.x writes them, rather than by pid.
    pub fdinfo_per_id: Option<bool>,
    /// The ids of the dumping CRIU's own namespaces, against which the tasks' are compared.
    pub root_ids: Option<TaskIds>,
    /// Whether namespace images are named by id.
    pub ns_per_id: Option<bool>,
    /// The root task's cgroup set (`cgroup.img`).
    pub root_cg_set: Option<u32>,
    /// The LSM the dump was made under (0 none, 1 SELinux, 2 AppArmor).
    pub lsmtype: Option<i32>,
    /// The system uptime at dump time, in microseconds (for pre-dump chains).
    pub dump_uptime: Option<u64>,
    /// How a pre-dump read memory (0 splice, 1 read).
    pub pre_dump_mode: Option<u32>,
    /// Whether TCP connections were closed (`--tcp-close`).
    pub tcp_close: Option<bool>,
    /// How the network was locked (0 iptables, 1 nftables, 2 skip).
    pub network_lock_method: Option<u32>,
    /// The plugins the dump used.
    pub plugins: Vec<Vec<u8>>,
    /// The id of the CRIU run that made the dump.
    pub dump_criu_run_id: Option<Vec<u8>>,
    /// Whether uprobes VMAs were allowed (`--allow-uprobes`).
    pub allow_uprobes: Option<bool>,
}

impl Inventory {
    pub(crate) fn from_view(v: &view::InventoryEntry<'_>) -> Inventory {
        Inventory {
            img_version: v.img_version(),
            fdinfo_per_id: v.fdinfo_per_id(),
            root_ids: v.root_ids().map(|i| TaskIds::from_view(&i)),
            ns_per_id: v.ns_per_id(),
            root_cg_set: v.root_cg_set(),
            lsmtype: v.lsmtype().map(|l| l.0),
            dump_uptime: v.dump_uptime(),
            pre_dump_mode: v.pre_dump_mode(),
            tcp_close: v.tcp_close(),
            network_lock_method: v.network_lock_method(),
            plugins: v.plugins_entry().map(|p| p.plugins().iter().map(<[u8]>::to_vec).collect()).unwrap_or_default(),
            dump_criu_run_id: v.dump_criu_run_id().map(<[u8]>::to_vec),
            allow_uprobes: v.allow_uprobes(),
        }
    }
}

/// Whether a task in this state is a zombie (recorded as dead, or the kernel's zombie state): it
/// has a core and nothing else, and its `pstree.img` `threads` are not thread ids.
pub fn is_zombie(state: TaskState) -> bool {
    state == TaskState::DEAD || state == TaskState::ZOMBIE
}

/// Whether CRIU dumped the resources (memory, files, namespaces) of a task in this state: alive
/// or stopped (`cr-dump.c` dumps everything else as a zombie or not at all).
pub fn has_resources(state: TaskState) -> bool {
    state == TaskState::ALIVE || state == TaskState::STOPPED
}
