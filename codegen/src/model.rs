//! The lowered schema: what the emitters need to know, and nothing of protobuf's descriptor types.
//!
//! Descriptors are awkward to emit from (optional everything, fully-qualified type names, options as
//! unknown fields); [`crate::load`] turns them into this model once, with names resolved, fields
//! sorted by number and the `(criu)` options merged, so each emitter is a plain walk.

use std::collections::BTreeMap;

/// The whole schema plus the facts from `proto/*.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// One entry per `.proto` file that defines image messages, sorted by file name.
    pub files: Vec<ProtoFile>,
    pub kinds: Vec<Kind>,
    pub raw_kinds: Vec<RawKind>,
    pub img_common: u32,
    pub img_service: u32,
    /// Payload rule → description, from `[payloads]`.
    pub payloads: BTreeMap<String, String>,
    pub flag_tables: Vec<FlagTable>,
    pub dict_tables: Vec<DictTable>,
    /// Open enums of kernel and CRIU constants: `proto/kernel.toml`, then the dict tables that
    /// name a `type`.
    pub kernel_enums: Vec<KernelEnum>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProtoFile {
    /// File name without `.proto`, e.g. `core-x86`.
    pub stem: String,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Schema name, e.g. `pagemap_entry` (nested messages: `outer.inner`).
    pub proto_name: String,
    /// Rust type name, e.g. `PagemapEntry`.
    pub rust_name: String,
    /// Sorted by field number: the order of JSON output and of encoding.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// Rust identifier for accessors and struct fields (keywords escaped).
    pub rust_name: String,
    pub number: u32,
    pub label: Label,
    pub ty: Ty,
    pub opts: CriuOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Optional,
    Required,
    Repeated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Scalar(Scalar),
    String,
    Bytes,
    /// Index into the global enum list: (file stem, rust name).
    Enum(String),
    /// Rust name of the message type.
    Message(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    Bool,
}

impl Scalar {
    /// Name of the codec type in `support::wire`.
    pub fn codec(self) -> &'static str {
        match self {
            Scalar::Int32 => "Int32",
            Scalar::Int64 => "Int64",
            Scalar::UInt32 => "UInt32",
            Scalar::UInt64 => "UInt64",
            Scalar::SInt32 => "SInt32",
            Scalar::SInt64 => "SInt64",
            Scalar::Fixed32 => "Fixed32",
            Scalar::Fixed64 => "Fixed64",
            Scalar::SFixed32 => "SFixed32",
            Scalar::SFixed64 => "SFixed64",
            Scalar::Bool => "Bool",
        }
    }
    /// The Rust type of a value.
    pub fn rust_type(self) -> &'static str {
        match self {
            Scalar::Int32 | Scalar::SInt32 | Scalar::SFixed32 => "i32",
            Scalar::Int64 | Scalar::SInt64 | Scalar::SFixed64 => "i64",
            Scalar::UInt32 | Scalar::Fixed32 => "u32",
            Scalar::UInt64 | Scalar::Fixed64 => "u64",
            Scalar::Bool => "bool",
        }
    }
    pub fn is_signed(self) -> bool {
        matches!(self.rust_type(), "i32" | "i64")
    }
    /// The type's name in a `.proto` file.
    pub fn proto_type(self) -> &'static str {
        match self {
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::UInt32 => "uint32",
            Scalar::UInt64 => "uint64",
            Scalar::SInt32 => "sint32",
            Scalar::SInt64 => "sint64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Fixed64 => "fixed64",
            Scalar::SFixed32 => "sfixed32",
            Scalar::SFixed64 => "sfixed64",
            Scalar::Bool => "bool",
        }
    }
}

/// CRIU's field options (`(criu).*`, extension 1018 of `FieldOptions`), merged over every
/// occurrence on a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CriuOpts {
    pub hex: bool,
    pub ipadd: bool,
    pub flags: Option<String>,
    pub dev: bool,
    pub odev: bool,
    pub dict: Option<String>,
    pub conv: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    pub proto_name: String,
    pub rust_name: String,
    /// In declaration order: (name, number).
    pub values: Vec<(String, i32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kind {
    pub name: String,
    pub magic: u32,
    pub head: Head,
    /// Rust name of the entry message.
    pub message: String,
    pub files: Vec<FilePattern>,
    pub payload: String,
    /// Rust name of the payload's other message (pagemap head, ghost chunk, ipc msg).
    pub aux: Option<String>,
    pub status: Status,
    pub entries: Entries,
    pub crit: bool,
}

/// A file-name pattern and the name of its generated constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePattern {
    /// printf-style, from `criu/image-desc.c`: `core-%u.img`.
    pub pattern: String,
    /// Constant name: `CORE`, `PAGEMAP_SHMEM` (derived from the pattern unless the TOML names it).
    pub const_name: String,
}

/// `status` of a kind in `kinds.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `W`: written by CRIU 4.2's dump.
    Written,
    /// `L`: legacy, read by restore of old images only.
    Legacy,
    /// `S`: a service image (stats, irmap cache).
    Service,
}

/// How many entries an image of a kind holds (`entries` in `kinds.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entries {
    /// Exactly one: CRIU writes one and restore reads only the first.
    One,
    /// At most one: restore reads one, and an empty image means "nothing to restore".
    AtMostOne,
    /// Any number.
    Many,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    None,
    Common,
    Service,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawKind {
    pub name: String,
    pub files: Vec<FilePattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlagTable {
    pub name: String,
    /// Rust name of the bit-flag newtype, e.g. `VmaStatus`.
    pub type_name: String,
    /// Prefixes stripped from entry names to make constant names (`VMA_AREA_STACK` → `STACK`).
    pub strip: Vec<String>,
    pub source: String,
    pub entries: Vec<(String, u64)>,
    /// Bits that are valid in the field but that crit prints as a hex remainder (validators accept
    /// them; JSON output does not name them).
    pub also_valid: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DictTable {
    /// `(criu).dict` value, e.g. `sk`.
    pub dict: String,
    /// The field name the table applies to, e.g. `family`.
    pub field: String,
    pub source: String,
    pub entries: Vec<(u64, String)>,
    /// Rust name of the open enum generated from this table, if any.
    pub type_name: Option<String>,
    /// Values the kernel names and crit does not (JSON keeps printing their number; the enum
    /// names them).
    pub also_named: Vec<(u64, String)>,
}

/// An open enum of kernel or CRIU constants (`proto/kernel.toml`, or a dict table with a `type`).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelEnum {
    /// The TOML table, e.g. `task_state` or `sk.family`.
    pub table: String,
    /// Rust name, e.g. `TaskState`.
    pub type_name: String,
    pub source: String,
    /// In declaration order: (value, name as our reports print it, lower-case).
    pub values: Vec<(u64, String)>,
    /// `Display` of a value without a name: hex (`0x88cc`) instead of decimal.
    pub display_hex: bool,
}

impl Model {
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.files.iter().flat_map(|f| f.messages.iter())
    }
    pub fn enums(&self) -> impl Iterator<Item = &Enum> {
        self.files.iter().flat_map(|f| f.enums.iter())
    }
    pub fn message(&self, rust_name: &str) -> Option<&Message> {
        self.messages().find(|m| m.rust_name == rust_name)
    }
    pub fn flag_table(&self, name: &str) -> Option<&FlagTable> {
        self.flag_tables.iter().find(|t| t.name == name)
    }
    pub fn dict_table(&self, dict: &str, field: &str) -> Option<&DictTable> {
        self.dict_tables.iter().find(|t| t.dict == dict && t.field == field)
    }
}
