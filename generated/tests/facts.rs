//! The generated fact types against real CRIU images and what CRIU's crit printed for them
//! (`testdata/`): flag newtypes render exactly as crit's pretty JSON, kernel enums name what the
//! images hold, file-name patterns name every image of every fixture checkpoint, and each kind's
//! entry message is linked to its kinds.

use std::path::{Path, PathBuf};

use criu_image_proto::flags::{MapFlags, OpenFlags, PageFlags, Prot, RemapId, Seals, VmaStatus};
use criu_image_proto::support::flags::FlagTable;
use criu_image_proto::support::json_in::{self, Value};
use criu_image_proto::kernel::{SocketFamily, TaskState, TcpState};
use criu_image_proto::kinds::{Entries, Kind, KINDS, RAW_KINDS, files};
use criu_image_proto::{FlagName, KindEntry, owned, view};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("testdata")
}

fn sets() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(testdata().join("images"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    v.sort();
    assert!(v.len() >= 7, "fixture sets: {v:?}");
    v
}

/// The entries of an image with a common head (framing is the runtime's job; these images are
/// real and well-formed, so a minimal walk is enough here).
fn entries(bytes: &[u8]) -> Vec<&[u8]> {
    let mut pos = 8;
    let mut out = Vec::new();
    while pos < bytes.len() {
        let n = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        out.push(&bytes[pos + 4..pos + 4 + n]);
        pos += 4 + n;
    }
    out
}

fn pretty_json(set: &str, file: &str) -> Value {
    let p = testdata().join("crit-reference").join(set).join(format!("{file}.pretty.json"));
    json_in::parse(&std::fs::read(&p).unwrap()).unwrap()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("expected a string, found {other:?}"),
    }
}

#[test]
fn flag_newtypes_display_as_crit_prints_them() {
    let mut vmas = 0;
    for set in sets() {
        for e in std::fs::read_dir(testdata().join("images").join(&set)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if !files::MM.matches(&name) {
                continue;
            }
            let bytes = std::fs::read(testdata().join("images").join(&set).join(&name)).unwrap();
            let mm = view::MmEntry::parse(entries(&bytes)[0]).unwrap();
            let doc = pretty_json(&set, &name);
            let Some(Value::Array(items)) = doc.get("entries") else { panic!("{set}/{name}: no entries") };
            let Some(Value::Array(json_vmas)) = items[0].get("vmas") else { panic!("{set}/{name}: no vmas") };
            assert_eq!(json_vmas.len(), mm.vmas().len());
            for (v, j) in mm.vmas().iter().zip(json_vmas) {
                assert_eq!(Prot(v.prot()).to_string(), text(j.get("prot").unwrap()), "{set}/{name}");
                assert_eq!(MapFlags(v.flags()).to_string(), text(j.get("flags").unwrap()), "{set}/{name}");
                assert_eq!(VmaStatus(v.status()).to_string(), text(j.get("status").unwrap()), "{set}/{name}");
                // And crit's names read back as the bits the image holds.
                let bits = |t: &str, f: fn(&[u8]) -> Option<u64>| -> u64 {
                    t.split(" | ").filter(|n| !n.is_empty()).map(|n| f(n.as_bytes()).unwrap_or_else(|| panic!("{set}/{name}: {n:?}"))).sum()
                };
                assert_eq!(bits(&text(j.get("prot").unwrap()), Prot::table_bits), u64::from(v.prot()), "{set}/{name}");
                assert_eq!(bits(&text(j.get("status").unwrap()), VmaStatus::table_bits), u64::from(v.status()), "{set}/{name}");
                // Every bit the kernel set is one the tables know.
                assert_eq!(MapFlags(v.flags()).unknown_bits(), 0, "{set}/{name}: {:?}", MapFlags(v.flags()));
                assert_eq!(VmaStatus(v.status()).unknown_bits(), 0, "{set}/{name}");
                vmas += 1;
            }
        }
    }
    assert!(vmas > 500, "{vmas} VMAs checked");
}

/// `table_bits` is the reverse of `TABLE` as crit's reader builds it (`dict` of the table: the last
/// entry of a name wins), and nothing else: not a name with any one byte changed, cut short or
/// lengthened, nor a name crit does not print (`ALL`'s extra entries).
#[test]
fn flag_table_bits_reverse_the_table_and_nothing_else() {
    type Lookup = fn(&[u8]) -> Option<u64>;
    let types: [(&str, &FlagTable, &FlagTable, Lookup); 7] = [
        ("MapFlags", MapFlags::TABLE, MapFlags::ALL, MapFlags::table_bits),
        ("Prot", Prot::TABLE, Prot::ALL, Prot::table_bits),
        ("VmaStatus", VmaStatus::TABLE, VmaStatus::ALL, VmaStatus::table_bits),
        ("PageFlags", PageFlags::TABLE, PageFlags::ALL, PageFlags::table_bits),
        ("RemapId", RemapId::TABLE, RemapId::ALL, RemapId::table_bits),
        ("OpenFlags", OpenFlags::TABLE, OpenFlags::ALL, OpenFlags::table_bits),
        ("Seals", Seals::TABLE, Seals::ALL, Seals::table_bits),
    ];
    let mut looked_up = 0;
    for (ty, table, all, bits_of) in types {
        let reverse = |n: &[u8]| table.iter().rev().find(|(m, _)| m.as_bytes() == n).map(|&(_, b)| b);
        let mut probes: Vec<Vec<u8>> = all.iter().map(|(n, _)| n.as_bytes().to_vec()).collect();
        for (n, _) in all.iter() {
            let n = n.as_bytes();
            probes.push(n[..n.len() - 1].to_vec());
            probes.push([n, b"X"].concat());
            for i in 0..n.len() {
                for b in [b'A', b'_', b'0', n[i] ^ 0x20, 0xff] {
                    let mut m = n.to_vec();
                    m[i] = b;
                    probes.push(m);
                }
            }
        }
        probes.push(Vec::new());
        for p in &probes {
            assert_eq!(bits_of(p), reverse(p), "{ty}: {:?}", String::from_utf8_lossy(p));
            looked_up += 1;
        }
        for (n, _) in table.iter() {
            assert!(bits_of(n.as_bytes()).is_some(), "{ty}: {n}");
        }
    }
    assert!(looked_up > 1000, "{looked_up}");
}

#[test]
fn flag_newtypes_name_bits_in_table_order() {
    let s = VmaStatus::REGULAR | VmaStatus::FILE_PRIVATE | VmaStatus(0x10);
    assert!(s.contains(VmaStatus::REGULAR) && !s.contains(VmaStatus::REGULAR | VmaStatus::HEAP));
    assert!(s.intersects(VmaStatus::REGULAR | VmaStatus::HEAP));
    assert_eq!(
        s.names().collect::<Vec<_>>(),
        [FlagName::Name("VMA_AREA_REGULAR"), FlagName::Name("VMA_FILE_PRIVATE"), FlagName::Bits(0x10)]
    );
    assert_eq!(s.to_string(), "VMA_AREA_REGULAR | VMA_FILE_PRIVATE | 0x10");
    assert_eq!(s.unknown_bits(), 0x10);
    // crit prints MAP_NORESERVE as a remainder; Debug names it.
    let f = MapFlags::PRIVATE | MapFlags::ANON | MapFlags::NORESERVE;
    assert_eq!(f.to_string(), "MAP_PRIVATE | MAP_ANON | 0x4000");
    assert_eq!(format!("{f:?}"), "MapFlags(MAP_PRIVATE | MAP_ANON | MAP_NORESERVE)");
    assert_eq!(format!("{:?}", Prot(0)), "Prot(0)");
    assert_eq!(Prot(0).to_string(), "");
    assert_eq!((PageFlags::PARENT | PageFlags::LAZY).bits(), 3);
    let mut p = Prot::READ;
    p |= Prot::WRITE;
    assert_eq!(p & !Prot::READ, Prot::WRITE);
}

#[test]
fn task_states_are_criu_s_names() {
    let mut seen = Vec::new();
    for set in sets() {
        for e in std::fs::read_dir(testdata().join("images").join(&set)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if !files::CORE.matches(&name) {
                continue;
            }
            let bytes = std::fs::read(testdata().join("images").join(&set).join(&name)).unwrap();
            let core = view::CoreEntry::parse(entries(&bytes)[0]).unwrap();
            if let Some(tc) = core.tc() {
                let state = TaskState(tc.task_state());
                assert!(state.name().is_some(), "{set}/{name}: state {state}");
                seen.push(state);
            }
        }
    }
    assert!(seen.contains(&TaskState::ALIVE), "{seen:?}");
    // CRIU's numbers (compel/include/uapi/task-state.h), not crit's swapped labels.
    assert_eq!(TaskState(3).name(), Some("stopped"));
    assert_eq!(TaskState(6).name(), Some("zombie"));
    assert_eq!(TaskState::from_name("dead"), Some(TaskState(2)));
    assert_eq!(TaskState(77).to_string(), "77");
    assert_eq!(format!("{:?}", TaskState::ALIVE), "TaskState::ALIVE");
    // Dict-derived enums: crit's names lower-cased, plus what crit has no name for.
    assert_eq!(SocketFamily(10).to_string(), "inet6");
    assert_eq!(TcpState(11).name(), Some("closing"));
}

#[test]
fn file_patterns_name_every_fixture_image() {
    let mut n = 0;
    for set in sets() {
        for e in std::fs::read_dir(testdata().join("images").join(&set)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".txt") {
                continue;
            }
            let raw = RAW_KINDS.iter().find_map(|r| r.files.iter().find(|p| p.matches(&name)));
            let (pattern, kind) = match Kind::from_file_name(&name) {
                Some((k, _)) => (k.info().files.iter().find(|p| p.matches(&name)).unwrap(), Some(k)),
                None => (raw.unwrap_or_else(|| panic!("{set}/{name}: no pattern")), None),
            };
            // The name formats back from its number.
            let id = pattern.id(&name);
            assert_eq!(id.is_some(), pattern.has_id(), "{set}/{name}");
            assert_eq!(pattern.name(id.unwrap_or(0)), name, "{set}/{name}");
            // And the kind's magic agrees with its name.
            if let Some(k) = kind {
                let bytes = std::fs::read(testdata().join("images").join(&set).join(&name)).unwrap();
                let magic_at = if k.info().head == criu_image_proto::kinds::Head::None { 0 } else { 4 };
                let magic = u32::from_le_bytes(bytes[magic_at..magic_at + 4].try_into().unwrap());
                assert_eq!(Kind::from_magic(magic), Some(k), "{set}/{name}");
            }
            n += 1;
        }
    }
    assert!(n > 100, "{n} files");
    assert_eq!(Kind::Core.file_name(7), "core-7.img");
    assert_eq!(Kind::GhostFile.file_name(31), "ghost-file-1f.img");
    assert_eq!(files::PAGEMAP_SHMEM.name(5), "pagemap-shmem-5.img");
    assert_eq!(Kind::from_file_name("pagemap-shmem-5.img"), Some((Kind::Pagemap, Some(5))));
    assert_eq!(Kind::Files.file_name(1), "files.img");
    assert_eq!(Kind::from_file_name("files.img"), Some((Kind::Files, None)));
    assert_eq!(files::PAGES.name(3), "pages-3.img");
}

#[test]
fn one_entry_kinds_hold_one_entry_in_every_fixture() {
    let mut checked = 0;
    for set in sets() {
        for e in std::fs::read_dir(testdata().join("images").join(&set)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            let Some((k, _)) = Kind::from_file_name(&name) else { continue };
            if k.info().entries == Entries::Many || k.info().head == criu_image_proto::kinds::Head::None {
                continue;
            }
            let bytes = std::fs::read(testdata().join("images").join(&set).join(&name)).unwrap();
            let n = entries(&bytes).len();
            match k.info().entries {
                Entries::One => assert_eq!(n, 1, "{set}/{name}"),
                _ => assert!(n <= 1, "{set}/{name}: {n}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
    assert!(Kind::Core.one_entry() && Kind::Mm.one_entry() && !Kind::Pstree.one_entry());
}

#[test]
fn entry_messages_know_their_kinds() {
    assert_eq!(<view::CoreEntry<'_> as KindEntry>::KINDS, &[Kind::Core]);
    assert_eq!(<owned::PipeDataEntry as KindEntry>::KINDS, &[Kind::PipesData, Kind::FifoData]);
    assert_eq!(<view::PagemapEntry<'_> as KindEntry>::KINDS, &[Kind::Pagemap]);
    assert_eq!(<view::PagemapHead<'_> as KindEntry>::AUX_OF, &[Kind::Pagemap]);
    assert!(<owned::GhostChunkEntry as KindEntry>::AUX_OF.contains(&Kind::GhostFile));
    // Every kind's entry message carries the kind (the table and the trait agree).
    for k in KINDS.iter() {
        assert!(!k.message.is_empty(), "{}", k.name);
    }
}
