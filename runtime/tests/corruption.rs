//! Parsing is total: every fixture image truncated at every byte and with every single bit flipped
//! gives a value or a typed error, never a panic or a hang; hand-assembled hostile inputs (deep
//! nesting, huge lengths) are refused without allocating by their claims.

mod support;

use criu_image::crit::{self, JsonOptions};
use criu_image::image::Image;

/// Distinct protobuf images of the fixtures (identical files across sets are tried once).
fn images() -> Vec<(String, Vec<u8>)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let root = support::root().join("testdata/images");
    for set in std::fs::read_dir(&root).unwrap() {
        let set = set.unwrap().path();
        if !set.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&set).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            let bytes = std::fs::read(&p).unwrap();
            if Image::parse(&bytes, Some(&name)).is_err() || !seen.insert(bytes.clone()) {
                continue;
            }
            out.push((name, bytes));
        }
    }
    assert!(out.len() > 100, "{}", out.len());
    out
}

/// Decodes in both layouts; returns whether it succeeded. An image the check refuses gives the
/// check's error and no output; with `compare`, the document, parsed once as it is written (and
/// holding less before it checks the rest), is the one written after a full check.
fn try_decode(name: &str, bytes: &[u8], compare: bool) -> bool {
    let Ok(img) = Image::parse(bytes, Some(name)) else { return false };
    let mut ok = true;
    let checked = crit::check(&img).map_err(|e| e.to_string());
    for pretty in [false, true] {
        let opts = JsonOptions { pretty, nopl: false };
        let mut once = Vec::new();
        let r = crit::write_json(&img, &mut once, opts).map_err(|e| e.to_string());
        assert_eq!(r.as_ref().err(), checked.as_ref().err(), "{name}");
        assert!(r.is_ok() || once.is_empty(), "{name}: output before the error");
        if compare && !pretty {
            // The views that write are the same in both layouts.
            let mut twice = Vec::new();
            let want = crit::write_json_checked_first(&img, &mut twice, opts).map_err(|e| e.to_string());
            assert_eq!(r, want, "{name}");
            assert!(once == twice, "{name}: the documents differ");
            // Holding less: the rest of the image is checked ahead of writing it, after a few
            // entries (or before the first).
            for hold in [0, 300] {
                let mut some = Vec::new();
                let got = crit::write_json_holding(&img, &mut some, opts, hold).map_err(|e| e.to_string());
                assert_eq!(got, want, "{name}, holding {hold}");
                assert!(some == twice, "{name}, holding {hold}: the documents differ");
            }
        }
        ok &= r.is_ok();
    }
    let _ = crit::info(&img);
    ok
}

#[test]
fn every_truncation_is_an_error_or_a_value() {
    let mut errors = 0usize;
    for (name, bytes) in images() {
        for cut in 0..bytes.len() {
            if !try_decode(&name, &bytes[..cut], cut % 16 == 0) {
                errors += 1;
            }
        }
    }
    // Most truncations cut an entry short; that must be reported, not swallowed.
    assert!(errors > 10_000, "{errors}");
}

#[test]
fn every_bit_flip_is_an_error_or_a_value() {
    let mut decoded = 0usize;
    let mut refused = 0usize;
    for (name, bytes) in images() {
        let mut b = bytes.clone();
        for i in 0..b.len() {
            for bit in 0..8 {
                b[i] ^= 1 << bit;
                // Every sixteenth byte is compared with the checked-first document (CI time).
                if try_decode(&name, &b, i % 16 == 0) { decoded += 1 } else { refused += 1 }
                b[i] ^= 1 << bit;
            }
        }
    }
    assert!(decoded > 0 && refused > 0, "decoded {decoded}, refused {refused}");
}

#[test]
fn a_truncated_entry_names_its_index_and_offset() {
    let bytes = std::fs::read(support::fixture("sleep").join("pagemap-20292.img")).unwrap();
    let cut = &bytes[..bytes.len() - 3];
    let img = Image::parse(cut, Some("pagemap-20292.img")).unwrap();
    let e = crit::check(&img).unwrap_err();
    let n = img.entries().filter(|e| e.is_ok()).count();
    assert_eq!(e.entry, Some(n), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn a_bad_field_names_its_path() {
    // core-*.img: flip the wire type of the first field inside thread_info.gpregs.
    let bytes = std::fs::read(support::fixture("sleep").join("core-20292.img")).unwrap();
    let img = Image::parse(&bytes, Some("core-20292.img")).unwrap();
    let e0 = img.entries().next().unwrap().unwrap();
    // Find the gpregs message: thread_info (field 2) → gpregs (field 2) → r15 (field 1, varint).
    let core = criu_image::proto::view::CoreEntry::parse(e0.message).unwrap();
    let gp = core.thread_info().unwrap().gpregs();
    let at = gp.as_bytes().as_ptr() as usize - bytes.as_ptr() as usize;
    let mut bad = bytes.clone();
    assert_eq!(bad[at], 0x08, "r15's key");
    bad[at] = 0x0d; // field 1, wire type 5 (fixed32)
    let img = Image::parse(&bad, Some("core-20292.img")).unwrap();
    let e = crit::check(&img).unwrap_err();
    assert_eq!(e.entry, Some(0));
    assert_eq!(e.field, "thread_info.gpregs.r15");
    assert_eq!(e.offset, at + 1, "the offset of the value after the key");
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // cgroup_entry.dirs (2) → cgroup_dir_entry.children (2) → ... 100 000 levels, built inside out.
    let mut msg: Vec<u8> = vec![0x0a, 0x01, b'x']; // dir_name = "x"
    for _ in 0..100_000 {
        let mut outer = vec![0x0a, 0x01, b'x', 0x12];
        let mut n = msg.len();
        while n >= 0x80 {
            outer.push((n as u8) | 0x80);
            n >>= 7;
        }
        outer.push(n as u8);
        outer.extend_from_slice(&msg);
        msg = outer;
    }
    let mut img = Vec::new();
    img.extend_from_slice(&0x5456_4319u32.to_le_bytes());
    img.extend_from_slice(&0x5938_3330u32.to_le_bytes()); // CGROUP
    let mut entry = vec![0x12];
    let mut n = msg.len();
    while n >= 0x80 {
        entry.push((n as u8) | 0x80);
        n >>= 7;
    }
    entry.push(n as u8);
    entry.extend_from_slice(&msg);
    img.extend_from_slice(&(entry.len() as u32).to_le_bytes());
    img.extend_from_slice(&entry);
    let parsed = Image::parse(&img, Some("cgroup.img")).unwrap();
    let e = crit::check(&parsed).unwrap_err();
    assert!(e.to_string().contains("nested too deeply"), "{e}");
}

#[test]
fn a_huge_claimed_length_is_refused_before_allocating() {
    // pipes-data: an entry claiming 4 GiB of pipe data in a 30-byte file.
    let mut img = Vec::new();
    img.extend_from_slice(&0x5456_4319u32.to_le_bytes());
    img.extend_from_slice(&0x5645_3709u32.to_le_bytes()); // PIPES_DATA
    let msg = [0x08, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f]; // pipe_id 1, bytes u32::MAX
    img.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    img.extend_from_slice(&msg);
    let parsed = Image::parse(&img, Some("pipes-data.img")).unwrap();
    let e = crit::check(&parsed).unwrap_err();
    assert!(e.to_string().contains("needs 4294967295 bytes"), "{e}");
    // And an entry size word larger than the file.
    let mut img2 = img[..8].to_vec();
    img2.extend_from_slice(&u32::MAX.to_le_bytes());
    let parsed = Image::parse(&img2, Some("pipes-data.img")).unwrap();
    assert!(crit::check(&parsed).is_err());
}

/// A singular message field that occurs twice (protobuf merges them; the writer reaches only the
/// last): a corrupt first occurrence is refused with the full check's error and no output, and a
/// sound one gives the document the checked-first writer gives.
#[test]
fn a_repeated_singular_message_is_checked_in_every_occurrence() {
    let bytes = std::fs::read(support::fixture("sleep").join("core-20292.img")).unwrap();
    let size = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let msg = &bytes[12..12 + size];
    assert_eq!(&msg[..3], &[0x08, 0x01, 0x12], "mtype, then thread_info (field 2)");
    // thread_info's whole field: key, length varint, body.
    let (mut len, mut at, mut shift) = (0usize, 3usize, 0);
    loop {
        let b = msg[at];
        len |= usize::from(b & 0x7f) << shift;
        at += 1;
        shift += 7;
        if b < 0x80 {
            break;
        }
    }
    let thread_info = &msg[2..at + len];
    let image = |prefix: &[u8]| {
        let mut m = prefix.to_vec();
        m.extend_from_slice(msg);
        let mut out = bytes[..8].to_vec();
        out.extend_from_slice(&(m.len() as u32).to_le_bytes());
        out.extend_from_slice(&m);
        out.extend_from_slice(&bytes[12 + size..]);
        out
    };
    // A corrupt first thread_info: one byte holding a key of wire type 7.
    let bad = image(&[0x12, 0x01, 0x0f]);
    let img = Image::parse(&bad, Some("core-20292.img")).unwrap();
    let want = crit::check(&img).unwrap_err().to_string();
    assert!(want.contains("thread_info"), "{want}");
    let mut out = Vec::new();
    let got = crit::write_json(&img, &mut out, JsonOptions::default()).unwrap_err().to_string();
    assert_eq!(got, want);
    assert!(out.is_empty());
    // The same thread_info twice: sound, and written as the checked-first writer writes it.
    let twice = image(thread_info);
    let img = Image::parse(&twice, Some("core-20292.img")).unwrap();
    crit::check(&img).unwrap();
    let (mut once, mut reference) = (Vec::new(), Vec::new());
    crit::write_json(&img, &mut once, JsonOptions::default()).unwrap();
    crit::write_json_checked_first(&img, &mut reference, JsonOptions::default()).unwrap();
    assert!(once == reference && !once.is_empty());
}
