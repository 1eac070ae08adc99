//! Kernel and CRIU bit values the model interprets.
//!
//! TODO(facts): these come from `proto/flags.toml` through codegen (the typed flag newtypes);
//! until then they are written here once, and nowhere else in the crate.

/// `PROT_*` of `vma_entry.prot`.
pub(crate) mod prot {
    pub const READ: u32 = 0x1;
    pub const WRITE: u32 = 0x2;
    pub const EXEC: u32 = 0x4;
}

/// `MAP_*` of `vma_entry.flags`.
pub(crate) mod map {
    pub const SHARED: u32 = 0x1;
    pub const GROWSDOWN: u32 = 0x100;
}

/// `VMA_*` of `vma_entry.status` (criu/include/image.h).
pub(crate) mod status {
    pub const REGULAR: u32 = 1 << 0;
    pub const STACK: u32 = 1 << 1;
    pub const VSYSCALL: u32 = 1 << 2;
    pub const VDSO: u32 = 1 << 3;
    pub const HEAP: u32 = 1 << 5;
    pub const FILE_PRIVATE: u32 = 1 << 6;
    pub const FILE_SHARED: u32 = 1 << 7;
    pub const ANON_SHARED: u32 = 1 << 8;
    pub const SYSVIPC: u32 = 1 << 10;
    pub const SOCKET: u32 = 1 << 11;
    pub const VVAR: u32 = 1 << 12;
    pub const AIORING: u32 = 1 << 13;
    pub const MEMFD: u32 = 1 << 14;
    pub const UPROBES: u32 = 1 << 17;
}
