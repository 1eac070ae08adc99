//! Every protobuf image of every fixture checkpoint (real CRIU 4.2 dumps) against what CRIU 4.2.1's
//! own crit printed for it: decode (plain and pretty), `show --nopl`, `info`; and encode of crit's
//! JSON (both forms) gives back the original bytes exactly.
//!
//! Deliberate differences from crit are asserted here too, each with its reason.

mod support;

use std::path::{Path, PathBuf};

use criu_image::crit::{self, JsonOptions};
use criu_image::image::{Image, Kind};

struct Case {
    set: String,
    file: String,
    path: PathBuf,
    reference: PathBuf,
}

/// Every non-raw image of every fixture set.
fn cases() -> Vec<Case> {
    let root = support::root().join("testdata");
    let mut out = Vec::new();
    for set in std::fs::read_dir(root.join("images")).unwrap() {
        let set = set.unwrap().path();
        if !set.is_dir() {
            continue;
        }
        let name = set.file_name().unwrap().to_str().unwrap().to_string();
        let reference = root.join("crit-reference").join(&name);
        let raw = std::fs::read_to_string(reference.join("raw.txt")).unwrap();
        for f in std::fs::read_dir(&set).unwrap() {
            let p = f.unwrap().path();
            let file = p.file_name().unwrap().to_str().unwrap().to_string();
            if file.ends_with(".txt") || file.ends_with(".md") || raw.lines().any(|l| l == file) {
                continue;
            }
            out.push(Case { set: name.clone(), file, path: p, reference: reference.clone() });
        }
    }
    out.sort_by(|a, b| (&a.set, &a.file).cmp(&(&b.set, &b.file)));
    assert!(out.len() >= 148, "expected the fixture images, found {}", out.len());
    out
}

fn decode(bytes: &[u8], name: &str, opts: JsonOptions) -> Vec<u8> {
    let img = Image::parse(bytes, Some(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out = Vec::new();
    crit::write_json(&img, &mut out, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    out.push(b'\n'); // crit's stdout newline
    out
}

fn reference(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(name)).ok()
}

/// crit miscounts images with payloads: its `info` skips `4 + size` per entry and then reads the
/// payload as if it were the next size word. We count entries.
fn crit_info_is_wrong(kind: Kind) -> bool {
    use criu_image::image::Payload;
    !matches!(kind.info().payload, Payload::None | Payload::Pagemap)
}

#[test]
fn decode_matches_crit() {
    let mut compared = 0;
    for c in cases() {
        let bytes = std::fs::read(&c.path).unwrap();
        for (suffix, opts) in [
            ("plain.json", JsonOptions { pretty: false, nopl: false }),
            ("pretty.json", JsonOptions { pretty: true, nopl: false }),
            ("nopl.txt", JsonOptions { pretty: true, nopl: true }),
        ] {
            let Some(want) = reference(&c.reference, &format!("{}.{suffix}", c.file)) else { continue };
            let got = decode(&bytes, &c.file, opts);
            assert!(
                got == want,
                "{}/{} ({suffix}) differs from crit:\n ours: {}\ncrit: {}",
                c.set,
                c.file,
                String::from_utf8_lossy(&got[..got.len().min(400)]),
                String::from_utf8_lossy(&want[..want.len().min(400)])
            );
            compared += 1;
        }
    }
    assert!(compared >= 440, "only {compared} comparisons");
}

#[test]
fn info_matches_crit_or_counts_right() {
    for c in cases() {
        let bytes = std::fs::read(&c.path).unwrap();
        let img = Image::parse(&bytes, Some(&c.file)).unwrap();
        let (kind, count) = crit::info(&img).unwrap();
        let ours = crit::info_json(kind, count) + "\n";
        let entries = img.entries().count();
        match reference(&c.reference, &format!("{}.info.json", c.file)) {
            Some(want) if !crit_info_is_wrong(kind) => {
                assert_eq!(ours.as_bytes(), &want[..], "{}/{}", c.set, c.file)
            }
            // Where crit is wrong (or crashed: ghost files), the count is the number of entries.
            _ => assert_eq!(count, entries, "{}/{}", c.set, c.file),
        }
    }
}

#[test]
fn payload_images_counted_right_where_crit_miscounts() {
    // fdzoo's sk-queues.img has five queued packets; crit's info says 2.
    let p = support::fixture("fdzoo").join("sk-queues.img");
    let bytes = std::fs::read(p).unwrap();
    let img = Image::parse(&bytes, Some("sk-queues.img")).unwrap();
    assert_eq!(crit::info(&img).unwrap().1, 5);
    let crit_said = std::fs::read_to_string(support::root().join("testdata/crit-reference/fdzoo/sk-queues.img.info.json")).unwrap();
    assert!(crit_said.contains("\"count\": 2"));
}

#[test]
fn encode_of_crit_json_gives_back_the_bytes() {
    let mut n = 0;
    for c in cases() {
        let original = std::fs::read(&c.path).unwrap();
        for suffix in ["plain.json", "pretty.json"] {
            let Some(json) = reference(&c.reference, &format!("{}.{suffix}", c.file)) else { continue };
            let mut out = Vec::new();
            crit::encode_json(&json, &mut out).unwrap_or_else(|e| panic!("{}/{} {suffix}: {e}", c.set, c.file));
            assert!(out == original, "{}/{} from {suffix}: {} bytes, original {}", c.set, c.file, out.len(), original.len());
            n += 1;
        }
    }
    assert!(n >= 290, "{n}");
}

#[test]
fn decode_encode_round_trip_of_our_own_json() {
    for c in cases() {
        let original = std::fs::read(&c.path).unwrap();
        for pretty in [false, true] {
            let json = decode(&original, &c.file, JsonOptions { pretty, nopl: false });
            let mut out = Vec::new();
            crit::encode_json(&json, &mut out).unwrap_or_else(|e| panic!("{}/{}: {e}", c.set, c.file));
            assert!(out == original, "{}/{} pretty={pretty}", c.set, c.file);
        }
    }
}

#[test]
fn raw_images_are_refused_with_a_hint() {
    let p = support::fixture("sleep").join("pages-1.img");
    let bytes = std::fs::read(p).unwrap();
    let e = Image::parse(&bytes, Some("pages-1.img")).unwrap_err();
    assert!(e.to_string().contains("raw PAGES image"), "{e}");
    // Without a name (stdin), the magic decides, with crit's hint.
    let e = Image::parse(&bytes, None).unwrap_err();
    assert!(e.to_string().contains("raw data"), "{e}");
    for name in ["ifaddr-10.img", "route-10.img", "route6-10.img", "rule-10.img", "nftables-10.img"] {
        let b = std::fs::read(support::fixture("ipcns").join(name)).unwrap();
        let e = Image::parse(&b, Some(name)).unwrap_err();
        assert!(e.to_string().contains("raw"), "{name}: {e}");
    }
}

#[test]
fn encode_streams_through_any_read_size() {
    // The reader takes each entry whole whatever the chunks the source gives: 1, 7 and 4096-byte
    // reads cut values, strings, escapes and UTF-8 characters anywhere.
    let mut n = 0;
    for c in cases() {
        let original = std::fs::read(&c.path).unwrap();
        let Some(json) = reference(&c.reference, &format!("{}.pretty.json", c.file)) else { continue };
        let sizes: &[usize] = if json.len() < 20_000 { &[1, 7, 4096] } else { &[7, 4096] };
        for &size in sizes {
            let mut out = Vec::new();
            let r = std::io::BufReader::with_capacity(size, &json[..]);
            crit::encode_json_with(r, &mut out, crit::EncodeOptions::default()).unwrap_or_else(|e| panic!("{}/{} by {size}: {e}", c.set, c.file));
            assert!(out == original, "{}/{} read {size} bytes at a time", c.set, c.file);
        }
        n += 1;
    }
    assert!(n >= 145, "{n}");
}

#[test]
fn streamed_json_errors_are_those_of_a_whole_parse() {
    // Truncations and corrupted bytes in real documents: every one is refused, and a JSON error
    // is the one parsing the whole document gives (offset, line, column, message). Errors come in
    // document order, so a stray `}` that ends an entry early may be reported as the field the
    // shortened entry lacks, where a whole parse first finds the syntax error after it.
    let (mut same, mut entry_first) = (0, 0);
    for (set, file) in [("sleep", "mm-20292.img"), ("fdzoo", "fdinfo-2.img"), ("ipcns", "ipcns-msg-11.img"), ("sleep", "core-20292.img")] {
        for suffix in ["plain.json", "pretty.json"] {
            let dir = support::root().join("testdata/crit-reference").join(set);
            let Some(json) = reference(&dir, &format!("{file}.{suffix}")) else { continue };
            let step = (json.len() / 60).max(1);
            let mut inputs: Vec<Vec<u8>> = (1..json.len()).step_by(step).map(|k| json[..k].to_vec()).collect();
            for at in (0..json.len()).step_by(step) {
                for b in [b'"', b'}', b']', b',', b'x', b'\\', b'\n', b'[', 0xff] {
                    let mut bad = json.clone();
                    bad[at] = b;
                    inputs.push(bad);
                }
            }
            for input in inputs {
                let Err(want) = criu_image::proto::support::json_in::parse(&input) else { continue };
                // Read whole (entries parsed in place) and in 7-byte chunks (entries gathered).
                let whole = crit::encode_json(&input, &mut Vec::new());
                let chunked = crit::encode_json_with(std::io::BufReader::with_capacity(7, &input[..]), &mut Vec::new(), Default::default());
                assert_eq!(format!("{whole:?}"), format!("{chunked:?}"), "{set}/{file}.{suffix}");
                match whole {
                    Err(crit::EncodeJsonError::Json(got)) => {
                        assert_eq!(got, want, "{set}/{file}.{suffix}");
                        same += 1;
                    }
                    Err(crit::EncodeJsonError::Encode(e)) if e.path.starts_with("entries[") => entry_first += 1,
                    other => panic!("{set}/{file}.{suffix}: {other:?}, whole parse: {want}"),
                }
            }
        }
    }
    assert!(same > 1000 && entry_first < same / 20, "{same} JSON errors as a whole parse's, {entry_first} entry errors first");
}

/// Entries of plain-message kinds are read from the document as they are encoded (no JSON tree);
/// entries before the magic are read whole first and converted from the tree. Both ways refuse
/// the same values with the same error, deep inside a message too.
#[test]
fn streamed_and_tree_entries_refuse_the_same_values() {
    let dir = support::root().join("testdata/crit-reference/sleep");
    let json = String::from_utf8(reference(&dir, "mm-20292.img.plain.json").unwrap()).unwrap();
    let swap = |doc: &str| {
        let rest = doc.strip_prefix("{\"magic\": \"MM\", ").unwrap();
        format!("{{{}, \"magic\": \"MM\"}}", rest.trim_end().strip_suffix('}').unwrap())
    };
    let vma2 = "\"start\": 94542008979456, \"end\": 94542008987648";
    assert!(json.contains(vma2));
    let cases = [
        (json.replacen(vma2, "\"start\": \"zz\", \"end\": 94542008987648", 1), "entries[0].vmas[2].start: cannot read \"zz\" as an integer"),
        (json.replacen(vma2, "\"start\": 1.5, \"end\": 94542008987648", 1), "entries[0].vmas[2].start: 1.5 is not an integer"),
        (json.replacen(vma2, "\"stat\": 1, \"end\": 94542008987648", 1), "entries[0].vmas[2].stat: unknown key: vma_entry has no field `stat`; did you mean `start`?"),
        (json.replacen(vma2, "\"end\": 94542008987648", 1), "entries[0].vmas[2]: message vma_entry is missing required field `start`"),
        (json.replacen("\"vmas\": [", "\"vmas\": [7, ", 1), "entries[0].vmas[0]: expected an object, found a number"),
        (json.replacen("\"vmas\": [", "\"vmas\": {\"a\": [", 1).replacen("], \"dumpable\"", "]}, \"dumpable\"", 1), "entries[0].vmas: expected an array, found an object"),
    ];
    for (doc, want) in cases {
        for (how, input) in [("streamed", doc.clone()), ("tree", swap(&doc))] {
            let e = crit::encode_json(input.as_bytes(), &mut Vec::new()).unwrap_err().to_string();
            assert!(e.starts_with(want), "{how}: {e}\nwanted: {want}");
        }
    }
    // The unchanged document encodes the same both ways.
    let original = std::fs::read(support::fixture("sleep").join("mm-20292.img")).unwrap();
    for input in [json.clone(), swap(&json)] {
        let mut out = Vec::new();
        crit::encode_json(input.as_bytes(), &mut out).unwrap();
        assert!(out == original);
    }
    // Keys out of schema order (the reader tries the next key in order first): the same
    // bytes; a key that extends the expected one is not taken for it.
    let at = json.find(vma2).unwrap();
    let end = at + json[at..].find('}').unwrap();
    let mut members: Vec<&str> = json[at..end].split(", ").collect();
    members.reverse();
    let reversed = format!("{}{}{}", &json[..at], members.join(", "), &json[end..]);
    assert_ne!(reversed, json);
    for input in [reversed.clone(), swap(&reversed)] {
        let mut out = Vec::new();
        crit::encode_json(input.as_bytes(), &mut out).unwrap();
        assert!(out == original, "reversed keys");
    }
    let longer = json.replacen(vma2, "\"startx\": 1, \"start\": 94542008979456, \"end\": 94542008987648", 1);
    let e = crit::encode_json(longer.as_bytes(), &mut Vec::new()).unwrap_err().to_string();
    assert!(e.starts_with("entries[0].vmas[2].startx: unknown key"), "{e}");
    // Nesting past the limit inside a streamed entry: the whole parse's error, at its place.
    let deep = json.replacen("\"vmas\": [", &format!("\"vmas\": [{}", "[".repeat(200)), 1);
    let want = criu_image::proto::support::json_in::parse(deep.as_bytes()).unwrap_err();
    match crit::encode_json(deep.as_bytes(), &mut Vec::new()) {
        Err(crit::EncodeJsonError::Json(got)) => assert_eq!(got, want),
        other => panic!("{other:?}"),
    }
}

#[test]
fn entries_before_magic_are_read_whole_and_encode_the_same() {
    let dir = support::root().join("testdata/crit-reference/fdzoo");
    let original = std::fs::read(support::fixture("fdzoo").join("fdinfo-2.img")).unwrap();
    let json = String::from_utf8(reference(&dir, "fdinfo-2.img.plain.json").unwrap()).unwrap();
    let rest = json.strip_prefix("{\"magic\": \"FDINFO\", ").unwrap();
    let swapped = format!("{{{}, \"magic\": \"FDINFO\"}}", rest.trim_end().strip_suffix('}').unwrap());
    let mut out = Vec::new();
    crit::encode_json(swapped.as_bytes(), &mut out).unwrap();
    assert!(out == original);
    // Once the entries are written, a second magic cannot change what they were: refused.
    let twice = format!("{}, \"magic\": \"FDINFO\"}}", json.trim_end().strip_suffix('}').unwrap());
    let e = crit::encode_json(twice.as_bytes(), &mut Vec::new()).unwrap_err().to_string();
    assert!(e.starts_with("magic: a second key"), "{e}");
}
