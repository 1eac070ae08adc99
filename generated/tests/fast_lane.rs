//! The reader's fast lane (`support::json_fast`) must never change what a document encodes to,
//! nor any error or where it is reported: every fixture's JSON as crit wrote it (plain and
//! pretty), read through buffers of several sizes (the lane gives up where a buffer ends), and
//! the same documents mutated byte by byte, go entry by entry through the reader with the lane
//! and without it, and the two logs (each entry's bytes, the reader's position after it, the
//! first error) must be equal.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use criu_image_proto::kinds::{Kind, Payload};
use criu_image_proto::owned;
use criu_image_proto::support::fields::{Message as _, UnknownKeys};
use criu_image_proto::support::json_fast::FastSource;
use criu_image_proto::support::json_in::{Reader, Value};
use criu_image_proto::support::json_src::{self, ReaderSource};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/crit-reference")
}

/// crit's JSON of every fixture image, plain and pretty.
fn documents() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut sets: Vec<_> = std::fs::read_dir(testdata()).expect("testdata/crit-reference").map(|e| e.unwrap().path()).collect();
    sets.sort();
    for set in sets {
        let mut files: Vec<_> = std::fs::read_dir(&set).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".plain.json") || name.ends_with(".pretty.json") {
                out.push((format!("{}/{name}", set.file_name().unwrap().to_string_lossy()), std::fs::read(&f).unwrap()));
            }
        }
    }
    assert!(out.len() > 100, "expected crit's JSON of every fixture image, found {} documents", out.len());
    out
}

/// What reading `doc` entry by entry gives: each entry's bytes and the reader's position after
/// it, up to the first error (and then that error, with its position).
fn log<R: BufRead>(input: R, fast: bool) -> Vec<String> {
    let mut log = Vec::new();
    let r = &mut Reader::new(input);
    macro_rules! t {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => {
                    log.push(format!("error: {e}"));
                    return log;
                }
            }
        };
    }
    t!(r.refuse_bom());
    t!(r.skip_ws());
    if !t!(r.eat(b'{')) {
        return log;
    }
    t!(r.skip_ws());
    if t!(r.key()) != "magic" {
        return log;
    }
    let Value::String(magic) = t!(r.value(1)) else { return log };
    let Some(kind) = Kind::from_name(&String::from_utf8_lossy(&magic)) else { return log };
    if !matches!(kind.info().payload, Payload::None | Payload::Pagemap) {
        // Entries with a payload beside the message (`extra`) are read whole, as a tree: the
        // reader's lane is not used for them.
        log.push("payload".to_string());
        return log;
    }
    if !t!(r.next(b'}')) || t!(r.key()) != "entries" {
        return log;
    }
    if t!(r.enter(b'[', 1)) != Some(true) {
        return log;
    }
    for i in 0.. {
        let path = format!("entries[{i}]");
        let src = ReaderSource::new(r, 2, b']');
        let mut src = if fast { src } else { src.general_only() };
        let bytes = if kind.info().payload == Payload::Pagemap && i == 0 {
            json_src::read::<_, owned::PagemapHead>(&mut src, &path, UnknownKeys::Refuse).map(|m| m.to_bytes())
        } else {
            kind.entry_from_json_src(&mut src, &path, UnknownKeys::Refuse)
        };
        log.push(format!("{:?}", t!(bytes)));
        log.push(format!("{:?}", r.error("after the entry")));
        if !t!(r.next(b']')) {
            break;
        }
    }
    t!(r.next(b'}'));
    t!(r.end());
    log.push("end".to_string());
    log
}

fn same_with_and_without(doc: &[u8], what: &str) {
    let general = log(doc, false);
    assert_eq!(log(doc, true), general, "{what}");
    // A small buffer: the lane meets its end often and must give up there; and the general
    // reader must not depend on where the buffer ends either.
    for fast in [false, true] {
        assert_eq!(log(BufReader::with_capacity(61, doc), fast), general, "{what}, buffer of 61, lane {fast}");
    }
}

#[test]
fn every_fixture_reads_the_same_through_the_lane() {
    let docs = documents();
    let mut entries = 0;
    for (name, doc) in &docs {
        let general = log(&doc[..], false);
        if general == ["payload"] {
            continue;
        }
        assert_eq!(general.last().map(String::as_str), Some("end"), "{name}: crit's own JSON must encode: {general:?}");
        entries += general.len() / 2;
        same_with_and_without(doc, name);
    }
    assert!(entries > 1000, "{entries} entries");
}

#[test]
fn mutated_documents_fail_alike() {
    // Every document, each mutation at positions spread over it (all of a small one's bytes).
    const BYTES: &[u8] = b"\"}], \n9e\\\xc3";
    for (name, doc) in documents() {
        let step = (doc.len() / 40).max(1);
        for at in (0..doc.len()).step_by(step) {
            let mut cut = doc.clone();
            cut.remove(at);
            same_with_and_without(&cut, &format!("{name} without byte {at}"));
            for &b in BYTES {
                if doc[at] == b {
                    continue;
                }
                let mut m = doc.clone();
                m[at] = b;
                same_with_and_without(&m, &format!("{name} with byte {at} = {b:?}"));
            }
        }
    }
}

#[test]
fn the_lane_reads_crits_vmas() {
    // One VMA as crit writes it, plain and pretty, is read by the lane itself (not handed on).
    for (name, doc) in documents().iter().filter(|(n, _)| n.contains("/mm-")) {
        let text = std::str::from_utf8(doc).unwrap();
        let at = text.find("\"vmas\": [").expect("vmas") + "\"vmas\": [".len();
        let rest = text[at..].trim_start();
        let (vma, span) = FastSource::read::<owned::VmaEntry, _>(rest.as_bytes(), 4, b']', UnknownKeys::Refuse, |m| m).unwrap_or_else(|| panic!("{name}: the lane gave up on the first VMA"));
        let end = rest.find('}').unwrap() + 1;
        let end = end + rest[end..].len() - rest[end..].trim_start().len();
        assert_eq!(span.bytes, end, "{name}: the lane read to the end of the VMA object");
        assert!(vma.end > vma.start, "{name}: {vma:?}");
    }
}
