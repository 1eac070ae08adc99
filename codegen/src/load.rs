//! Inputs → [`Model`]: CRIU's `.proto` files through protobuf-parse's pure-Rust parser (no
//! `protoc`), and our TOML facts.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use protobuf::UnknownValueRef;
use protobuf::descriptor::field_descriptor_proto::{Label as PLabel, Type as PType};
use protobuf::descriptor::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};
use serde::Deserialize;

use crate::Error;
use crate::ident;
use crate::model::*;

/// Field number of CRIU's extension of `google.protobuf.FieldOptions` (`opts.proto`).
const CRIU_OPTS_EXTENSION: u32 = 1018;

/// Schema files that are not image formats: the RPC protocol, the image-streamer socket protocol,
/// and the option definitions themselves.
const NOT_IMAGES: &[&str] = &["rpc.proto", "img-streamer.proto", "opts.proto"];

/// Reads `dir/*.proto` and `dir/{kinds,flags,dicts,kernel}.toml` into a model.
pub fn load(dir: &Path) -> Result<Model, Error> {
    let mut protos: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .collect();
    protos.sort();
    if protos.is_empty() {
        return Err(Error(format!("no .proto files in {}", dir.display())));
    }
    let parsed = protobuf_parse::Parser::new()
        .pure()
        .include(dir)
        .inputs(&protos)
        .parse_and_typecheck()
        .map_err(|e| Error(format!("parsing the schema in {}: {e:#}", dir.display())))?;
    let mut fds: Vec<FileDescriptorProto> = parsed
        .file_descriptors
        .into_iter()
        .filter(|f| !f.name().starts_with("google/") && !NOT_IMAGES.contains(&f.name()))
        .collect();
    fds.sort_by(|a, b| a.name().cmp(b.name()));

    // Resolve type names: fully-qualified schema name → Rust name.
    let mut names = HashMap::new();
    for fd in &fds {
        for m in &fd.message_type {
            collect_names(m, "", &mut names);
        }
        for e in &fd.enum_type {
            names.insert(format!(".{}", e.name()), ident::type_name(e.name()));
        }
    }

    let mut files = Vec::new();
    for fd in &fds {
        let stem = fd.name().trim_end_matches(".proto").to_string();
        let mut messages = Vec::new();
        let mut enums = Vec::new();
        for e in &fd.enum_type {
            enums.push(lower_enum(e, ""));
        }
        for m in &fd.message_type {
            lower_message(m, "", &names, &mut messages, &mut enums)?;
        }
        files.push(ProtoFile { stem, messages, enums });
    }

    let facts = load_facts(dir)?;
    let mut model = Model {
        files,
        kinds: Vec::new(),
        raw_kinds: Vec::new(),
        img_common: facts.magics.img_common,
        img_service: facts.magics.img_service,
        payloads: facts.payloads,
        flag_tables: facts.flags,
        dict_tables: facts.dicts,
        kernel_enums: facts.kernel,
    };
    for r in facts.raw {
        let files = file_patterns(&r.name, r.files)?;
        model.raw_kinds.push(RawKind { name: r.name, files });
    }
    for k in facts.kind {
        let message = resolve_message(&model, &k.message, &k.name)?;
        let aux = k.aux.as_deref().map(|a| resolve_message(&model, a, &k.name)).transpose()?;
        if !model.payloads.contains_key(&k.payload) {
            return Err(Error(format!("kind {}: payload rule `{}` is not described in [payloads]", k.name, k.payload)));
        }
        let head = match k.head.as_str() {
            "none" => Head::None,
            "common" => Head::Common,
            "service" => Head::Service,
            other => return Err(Error(format!("kind {}: unknown head `{other}`", k.name))),
        };
        let status = match k.status.as_str() {
            "W" => Status::Written,
            "L" => Status::Legacy,
            "S" => Status::Service,
            other => return Err(Error(format!("kind {}: unknown status `{other}` (W, L or S)", k.name))),
        };
        let entries = match k.entries.as_deref() {
            None | Some("many") => Entries::Many,
            Some("one") => Entries::One,
            Some("at-most-one") => Entries::AtMostOne,
            Some(other) => {
                return Err(Error(format!("kind {}: unknown entries `{other}` (one, at-most-one or many)", k.name)));
            }
        };
        let files = file_patterns(&k.name, k.files)?;
        model.kinds.push(Kind { name: k.name, magic: k.magic, head, message, files, payload: k.payload, aux, status, entries, crit: k.crit });
    }
    check_options(&model)?;
    check_facts(&model)?;
    Ok(model)
}

/// File patterns with their constant names: derived from the pattern (`pagemap-shmem-%lu.img` →
/// `PAGEMAP_SHMEM`) unless the TOML names it.
fn file_patterns(kind: &str, specs: Vec<FileSpec>) -> Result<Vec<FilePattern>, Error> {
    specs
        .into_iter()
        .map(|s| {
            let (pattern, name) = match s {
                FileSpec::Pattern(p) => (p, None),
                FileSpec::Named { pattern, name } => (pattern, Some(name)),
            };
            check_pattern(&pattern).map_err(|e| Error(format!("kind {kind}: file pattern `{pattern}`: {e}")))?;
            let const_name = name.unwrap_or_else(|| ident::file_const_name(&pattern));
            if !ident::is_const_ident(&const_name) {
                return Err(Error(format!("kind {kind}: `{const_name}` is not a constant name for file pattern `{pattern}`")));
            }
            Ok(FilePattern { pattern, const_name })
        })
        .collect()
}

/// The printf subset of `criu/image-desc.c` that the runtime formats and matches: at most one
/// conversion, `%u %lu %d %ld %x %lx`, and `%%` nowhere.
fn check_pattern(p: &str) -> Result<(), String> {
    let mut conversions = 0;
    let mut rest = p;
    while let Some(i) = rest.find('%') {
        let after = &rest[i + 1..];
        let after = after.strip_prefix('l').unwrap_or(after);
        match after.chars().next() {
            Some('u' | 'd' | 'x') => conversions += 1,
            other => return Err(format!("unsupported conversion `%{}`", other.map(String::from).unwrap_or_default())),
        }
        rest = &after[1..];
    }
    if conversions > 1 {
        return Err("more than one conversion".into());
    }
    Ok(())
}

/// Names that become identifiers must be usable as such, and must not collide.
fn check_facts(model: &Model) -> Result<(), Error> {
    let mut types = std::collections::BTreeSet::new();
    for t in &model.flag_tables {
        if !types.insert(t.type_name.clone()) {
            return Err(Error(format!("flags.toml `{}`: type `{}` is defined twice", t.name, t.type_name)));
        }
        let mut consts = std::collections::BTreeSet::new();
        for (n, v) in t.entries.iter().chain(&t.also_valid) {
            if !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Error(format!("flags.toml `{}`: `{n}` is not a C identifier", t.name)));
            }
            if u32::try_from(*v).is_err() {
                return Err(Error(format!("flags.toml `{}`: {n} = {v:#x} does not fit the u32 fields it describes", t.name)));
            }
            if !consts.insert(ident::flag_const_name(n, &t.strip)) {
                return Err(Error(format!("flags.toml `{}`: two entries make the constant name of `{n}`", t.name)));
            }
        }
    }
    for e in &model.kernel_enums {
        if !types.insert(e.type_name.clone()) {
            return Err(Error(format!("{}: type `{}` is defined twice", e.table, e.type_name)));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut values = std::collections::BTreeSet::new();
        for (v, n) in &e.values {
            if !ident::is_const_ident(&ident::kernel_const_name(n)) {
                return Err(Error(format!("{}: `{n}` does not make a constant name", e.table)));
            }
            if u32::try_from(*v).is_err() {
                return Err(Error(format!("{}: {n} = {v} does not fit u32", e.table)));
            }
            if !names.insert(n.clone()) || !values.insert(*v) {
                return Err(Error(format!("{}: `{n}` = {v} repeats a name or a value", e.table)));
            }
        }
    }
    let mut files = std::collections::BTreeSet::new();
    for p in model.kinds.iter().flat_map(|k| &k.files).chain(model.raw_kinds.iter().flat_map(|r| &r.files)) {
        if !files.insert(p.const_name.clone()) {
            return Err(Error(format!(
                "kinds.toml: two file patterns make the constant `{}` (the second is `{}`): name one with {{ pattern = \"...\", name = \"...\" }}",
                p.const_name, p.pattern
            )));
        }
    }
    Ok(())
}

fn resolve_message(model: &Model, proto_name: &str, kind: &str) -> Result<String, Error> {
    model
        .messages()
        .find(|m| m.proto_name == proto_name)
        .map(|m| m.rust_name.clone())
        .ok_or_else(|| Error(format!("kind {kind}: message `{proto_name}` is not in the schema")))
}

/// Every `(criu).flags` and `(criu).dict` must name a table we have: the emitters hard-code none.
fn check_options(model: &Model) -> Result<(), Error> {
    for m in model.messages() {
        for f in &m.fields {
            if let Some(t) = &f.opts.flags
                && model.flag_table(t).is_none() {
                    return Err(Error(format!("{}.{}: flag table `{t}` is not in flags.toml", m.proto_name, f.name)));
                }
            if let Some(d) = &f.opts.dict
                && model.dict_table(d, &f.name).is_none() {
                    return Err(Error(format!("{}.{}: dict `{d}.{}` is not in dicts.toml", m.proto_name, f.name, f.name)));
                }
            if let Some(c) = &f.opts.conv
                && c != "unix_name" {
                    return Err(Error(format!("{}.{}: unknown conversion `{c}`", m.proto_name, f.name)));
                }
        }
    }
    Ok(())
}

fn collect_names(m: &DescriptorProto, prefix: &str, names: &mut HashMap<String, String>) {
    let full = format!("{prefix}{}", m.name());
    names.insert(format!(".{full}"), ident::type_name(&full));
    for e in &m.enum_type {
        let ef = format!("{full}.{}", e.name());
        names.insert(format!(".{ef}"), ident::type_name(&ef));
    }
    for n in &m.nested_type {
        collect_names(n, &format!("{full}."), names);
    }
}

fn lower_enum(e: &EnumDescriptorProto, prefix: &str) -> Enum {
    let full = format!("{prefix}{}", e.name());
    Enum {
        rust_name: ident::type_name(&full),
        proto_name: full,
        values: e.value.iter().map(|v| (v.name().to_string(), v.number())).collect(),
    }
}

fn lower_message(
    m: &DescriptorProto,
    prefix: &str,
    names: &HashMap<String, String>,
    messages: &mut Vec<Message>,
    enums: &mut Vec<Enum>,
) -> Result<(), Error> {
    let full = format!("{prefix}{}", m.name());
    for e in &m.enum_type {
        enums.push(lower_enum(e, &format!("{full}.")));
    }
    let mut fields = Vec::new();
    for f in &m.field {
        let at = || format!("{full}.{}", f.name());
        let label = match f.label() {
            PLabel::LABEL_OPTIONAL => Label::Optional,
            PLabel::LABEL_REQUIRED => Label::Required,
            PLabel::LABEL_REPEATED => Label::Repeated,
        };
        let resolve = || {
            names.get(f.type_name()).cloned().ok_or_else(|| Error(format!("{}: unresolved type {}", at(), f.type_name())))
        };
        let ty = match f.type_() {
            PType::TYPE_INT32 => Ty::Scalar(Scalar::Int32),
            PType::TYPE_INT64 => Ty::Scalar(Scalar::Int64),
            PType::TYPE_UINT32 => Ty::Scalar(Scalar::UInt32),
            PType::TYPE_UINT64 => Ty::Scalar(Scalar::UInt64),
            PType::TYPE_SINT32 => Ty::Scalar(Scalar::SInt32),
            PType::TYPE_SINT64 => Ty::Scalar(Scalar::SInt64),
            PType::TYPE_FIXED32 => Ty::Scalar(Scalar::Fixed32),
            PType::TYPE_FIXED64 => Ty::Scalar(Scalar::Fixed64),
            PType::TYPE_SFIXED32 => Ty::Scalar(Scalar::SFixed32),
            PType::TYPE_SFIXED64 => Ty::Scalar(Scalar::SFixed64),
            PType::TYPE_BOOL => Ty::Scalar(Scalar::Bool),
            PType::TYPE_STRING => Ty::String,
            PType::TYPE_BYTES => Ty::Bytes,
            PType::TYPE_ENUM => Ty::Enum(resolve()?),
            PType::TYPE_MESSAGE => Ty::Message(resolve()?),
            other => return Err(Error(format!("{}: field type {other:?} does not occur in CRIU images and is not supported", at()))),
        };
        let number = u32::try_from(f.number()).map_err(|_| Error(format!("{}: bad field number", at())))?;
        let opts = criu_opts(f.options.as_ref().map(|o| o.special_fields.unknown_fields()))
            .map_err(|e| Error(format!("{}: {}", at(), e.0)))?;
        fields.push(Field { name: f.name().to_string(), rust_name: ident::field_name(f.name()), number, label, ty, opts });
    }
    fields.sort_by_key(|f| f.number);
    messages.push(Message { rust_name: ident::type_name(&full), proto_name: full.clone(), fields });
    for n in &m.nested_type {
        lower_message(n, &format!("{full}."), names, messages, enums)?;
    }
    Ok(())
}

/// Merges every occurrence of extension 1018 on a field. The parser serialises each
/// `[(criu).x = ...]` as its own `CRIU_Opts` record, so a field may carry several; protobuf merge
/// semantics apply (later scalars win, which never conflicts in CRIU's schema).
fn criu_opts(unknown: Option<&protobuf::UnknownFields>) -> Result<CriuOpts, Error> {
    let mut o = CriuOpts::default();
    let Some(unknown) = unknown else { return Ok(o) };
    for (num, value) in unknown.iter() {
        if num != CRIU_OPTS_EXTENSION {
            continue;
        }
        let UnknownValueRef::LengthDelimited(bytes) = value else {
            return Err(Error("(criu) option is not a message".into()));
        };
        merge_criu_opts(bytes, &mut o)?;
    }
    Ok(o)
}

fn merge_criu_opts(bytes: &[u8], o: &mut CriuOpts) -> Result<(), Error> {
    let bad = || Error("malformed (criu) option".into());
    let mut pos = 0;
    let varint = |pos: &mut usize| -> Result<u64, Error> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *bytes.get(*pos).ok_or_else(bad)?;
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad())
    };
    while pos < bytes.len() {
        let key = varint(&mut pos)?;
        match (key >> 3, key & 7) {
            (n @ (1 | 2 | 4 | 5), 0) => {
                let v = varint(&mut pos)? != 0;
                match n {
                    1 => o.hex = v,
                    2 => o.ipadd = v,
                    4 => o.dev = v,
                    _ => o.odev = v,
                }
            }
            (n @ (3 | 6 | 7), 2) => {
                let len = varint(&mut pos)? as usize;
                let s = bytes.get(pos..pos + len).ok_or_else(bad)?;
                pos += len;
                let s = String::from_utf8(s.to_vec()).map_err(|_| bad())?;
                match n {
                    3 => o.flags = Some(s),
                    6 => o.dict = Some(s),
                    _ => o.conv = Some(s),
                }
            }
            (n, _) => return Err(Error(format!("unknown (criu) option field {n}"))),
        }
    }
    Ok(())
}

// ---- TOML facts ----

#[derive(Deserialize)]
struct KindsToml {
    magics: Magics,
    payloads: BTreeMap<String, String>,
    kind: Vec<KindToml>,
    raw: Vec<RawToml>,
}

#[derive(Deserialize)]
struct Magics {
    img_common: u32,
    img_service: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindToml {
    name: String,
    magic: u32,
    head: String,
    message: String,
    files: Vec<FileSpec>,
    payload: String,
    aux: Option<String>,
    status: String,
    entries: Option<String>,
    crit: bool,
}

/// A file pattern, optionally with the name of its constant.
#[derive(Deserialize)]
#[serde(untagged)]
enum FileSpec {
    Pattern(String),
    Named { pattern: String, name: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToml {
    name: String,
    files: Vec<FileSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagToml {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    strip: Vec<String>,
    source: String,
    entries: Vec<(String, u64)>,
    #[serde(default)]
    also_valid: Vec<(String, u64)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DictToml {
    #[serde(rename = "type")]
    type_name: Option<String>,
    source: String,
    entries: Vec<(u64, String)>,
    #[serde(default)]
    also_named: Vec<(u64, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelToml {
    #[serde(rename = "type")]
    type_name: String,
    source: String,
    entries: Vec<(u64, String)>,
    /// `"hex"`: values without a name display as hex.
    display: Option<String>,
}

struct Facts {
    magics: Magics,
    payloads: BTreeMap<String, String>,
    kind: Vec<KindToml>,
    raw: Vec<RawToml>,
    flags: Vec<FlagTable>,
    dicts: Vec<DictTable>,
    kernel: Vec<KernelEnum>,
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| Error(format!("{}: {e}", path.display())))
}

fn load_facts(dir: &Path) -> Result<Facts, Error> {
    let kinds: KindsToml = read_toml(&dir.join("kinds.toml"))?;
    // BTreeMap: deterministic order whatever the TOML library does; the flag table *entries* keep
    // file order, which is output order.
    let flags: BTreeMap<String, FlagToml> = read_toml(&dir.join("flags.toml"))?;
    let dicts: BTreeMap<String, BTreeMap<String, DictToml>> = read_toml(&dir.join("dicts.toml"))?;
    let kernel_path = dir.join("kernel.toml");
    let kernel_tables: BTreeMap<String, KernelToml> = read_toml(&kernel_path)?;
    let dicts: Vec<DictTable> = dicts
        .into_iter()
        .flat_map(|(dict, fields)| {
            fields.into_iter().map(move |(field, t)| DictTable {
                dict: dict.clone(),
                field,
                source: t.source,
                entries: t.entries,
                type_name: t.type_name,
                also_named: t.also_named,
            })
        })
        .collect();
    let mut kernel = Vec::new();
    for (table, t) in kernel_tables {
        let display_hex = match t.display.as_deref() {
            None | Some("decimal") => false,
            Some("hex") => true,
            Some(other) => return Err(Error(format!("{}: [{table}]: unknown display `{other}` (decimal or hex)", kernel_path.display()))),
        };
        kernel.push(KernelEnum { table: format!("kernel.toml [{table}]"), type_name: t.type_name, source: t.source, values: t.entries, display_hex });
    }
    // Dict tables that name a type are enums too: crit's names, lower-cased as our reports print
    // them, plus the values crit has no name for.
    for d in &dicts {
        if let Some(type_name) = &d.type_name {
            let values = d.entries.iter().chain(&d.also_named).map(|(v, n)| (*v, n.to_ascii_lowercase())).collect();
            kernel.push(KernelEnum {
                table: format!("dicts.toml [\"{}\".{}]", d.dict, d.field),
                type_name: type_name.clone(),
                source: d.source.clone(),
                values,
                display_hex: false,
            });
        }
    }
    Ok(Facts {
        magics: kinds.magics,
        payloads: kinds.payloads,
        kind: kinds.kind,
        raw: kinds.raw,
        flags: flags
            .into_iter()
            .map(|(name, t)| FlagTable {
                name,
                type_name: t.type_name,
                strip: t.strip,
                source: t.source,
                entries: t.entries,
                also_valid: t.also_valid,
            })
            .collect(),
        dicts,
        kernel,
    })
}
