//! Views read a message's singular fields (scalars, strings, messages) first in number order (the order protobuf-c writes),
//! then whatever is left with the general loop. Fields in any other order, repeated, mixed
//! with unknown fields or with the wrong wire type must read exactly as the loop alone reads
//! them: the last occurrence wins, unknown fields are noticed, errors name the field.

use criu_image_proto::support::wire::{self, Scalar as _};
use criu_image_proto::view::VmaEntry;

/// `(number, value)` of a VMA's fields as CRIU writes them (fd is sint64).
const FIELDS: [(u32, u64); 8] = [(1, 0x7f00_0000_1000), (2, 0x7f00_0000_3000), (3, 7), (4, 0), (5, 3), (6, 0x22), (7, 0x41), (8, 0)];

fn field(num: u32, v: u64, out: &mut Vec<u8>) {
    match num {
        5..=7 => wire::UInt32::write_field(num, v as u32, out),
        8 => wire::SInt64::write_field(num, v as i64 - 1, out),
        _ => wire::UInt64::write_field(num, v, out),
    }
}

fn bytes(order: &[(u32, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(n, v) in order {
        field(n, v, &mut out);
    }
    out
}

fn values(v: &VmaEntry<'_>) -> [u64; 8] {
    [v.start(), v.end(), v.pgoff(), v.shmid(), u64::from(v.prot()), u64::from(v.flags()), u64::from(v.status()), (v.fd() + 1) as u64]
}

#[test]
fn fields_in_any_order_read_as_the_general_loop_reads_them() {
    let want: [u64; 8] = FIELDS.map(|(_, v)| v);
    let canonical = bytes(&FIELDS);
    let v = VmaEntry::parse(&canonical).unwrap();
    assert_eq!(values(&v), want);
    assert!(!v.has_unknown_fields());

    // Reversed, and every rotation: the same values.
    let mut rev = FIELDS;
    rev.reverse();
    assert_eq!(values(&VmaEntry::parse(&bytes(&rev)).unwrap()), want);
    for k in 1..FIELDS.len() {
        let mut rot = FIELDS;
        rot.rotate_left(k);
        assert_eq!(values(&VmaEntry::parse(&bytes(&rot)).unwrap()), want, "rotated by {k}");
    }

    // A field twice: the last wins, whether the second comes in order or after the rest.
    let mut twice = FIELDS.to_vec();
    twice.insert(1, (1, 5));
    assert_eq!(VmaEntry::parse(&bytes(&twice)).unwrap().start(), 5);
    let mut again = FIELDS.to_vec();
    again.push((1, 9));
    assert_eq!(VmaEntry::parse(&bytes(&again)).unwrap().start(), 9);

    // An unknown field in the middle of the ordered run: noticed, the rest still read.
    let mut unknown = bytes(&FIELDS[..3]);
    wire::UInt64::write_field(20, 1, &mut unknown);
    unknown.extend_from_slice(&bytes(&FIELDS[3..]));
    let v = VmaEntry::parse(&unknown).unwrap();
    assert_eq!(values(&v), want);
    assert!(v.has_unknown_fields());

    // `end` with a length-delimited wire type: not taken by the ordered read, refused by the
    // loop, naming the field.
    let mut wrong = bytes(&FIELDS[..1]);
    wrong.extend_from_slice(&[2 << 3 | 2, 1, 0]);
    wrong.extend_from_slice(&bytes(&FIELDS[2..]));
    let e = VmaEntry::parse(&wrong).unwrap_err().to_string();
    assert!(e.contains("end"), "{e}");

    // A value cut short inside the ordered run: the error names the field and the offset.
    let cut = &canonical[..canonical.len() - 1];
    let e = VmaEntry::parse(cut).unwrap_err();
    assert!(e.to_string().contains("fd"), "{e}");
    let short = &canonical[..2];
    let e = VmaEntry::parse(short).unwrap_err().to_string();
    assert!(e.contains("start"), "{e}");

    // A missing required field is still missing.
    let e = VmaEntry::parse(&bytes(&FIELDS[1..])).unwrap_err().to_string();
    assert!(e.contains("start"), "{e}");
}

/// A `reg_file_entry` as CRIU writes it: `id`, `flags`, `pos`, then the `fown` message (5) and
/// the `name` string (6), both length-delimited and read in order too, then `mnt_id` (7).
fn reg_file(order: &[u32], fown: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &n in order {
        match n {
            1 => wire::UInt32::write_field(1, 17, &mut out),
            2 => wire::UInt32::write_field(2, 0o100002, &mut out),
            3 => wire::UInt64::write_field(3, 4096, &mut out),
            5 | 6 => {
                let v = if n == 5 { fown } else { name };
                wire::write_varint(u64::from(n << 3 | 2), &mut out);
                wire::write_varint(v.len() as u64, &mut out);
                out.extend_from_slice(v);
            }
            7 => wire::SInt32::write_field(7, 3, &mut out),
            _ => unreachable!(),
        }
    }
    out
}

fn fown(pid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in [(1, 0), (2, 0), (3, 0), (4, 1), (5, pid)] {
        wire::UInt32::write_field(n, v, &mut out);
    }
    out
}

#[test]
fn message_and_string_fields_in_any_order_read_as_the_loop_reads_them() {
    use criu_image_proto::view::RegFileEntry;
    let read = |b: &[u8]| RegFileEntry::parse(b).map(|r| (r.id(), r.flags(), r.pos(), r.fown().pid(), r.name().to_vec(), r.mnt_id()));
    let want = (17, 0o100002, 4096, 42, b"/etc/hosts".to_vec(), Some(3));
    let canonical = [1, 2, 3, 5, 6, 7];
    assert_eq!(read(&reg_file(&canonical, &fown(42), b"/etc/hosts")).unwrap(), want);
    for k in 1..canonical.len() {
        let mut rot = canonical;
        rot.rotate_left(k);
        assert_eq!(read(&reg_file(&rot, &fown(42), b"/etc/hosts")).unwrap(), want, "rotated by {k}");
    }
    let mut rev = canonical;
    rev.reverse();
    assert_eq!(read(&reg_file(&rev, &fown(42), b"/etc/hosts")).unwrap(), want);

    // `fown` twice, the second after the rest: the last wins, as in the loop.
    let mut twice = reg_file(&canonical, &fown(1), b"/etc/hosts");
    twice.extend_from_slice(&reg_file(&[5], &fown(42), b""));
    assert_eq!(read(&twice).unwrap(), want);

    // A corrupt `fown` in its ordered place: the nested error names the field.
    let e = RegFileEntry::parse(&reg_file(&canonical, &[0x08], b"/etc/hosts")).unwrap_err().to_string();
    assert!(e.contains("fown"), "{e}");
    // `name` with a varint wire type: not taken in order, refused by the loop, naming it.
    let mut wrong = reg_file(&[1, 2, 3, 5], &fown(42), b"");
    wrong.extend_from_slice(&[6 << 3, 1]);
    let e = RegFileEntry::parse(&wrong).unwrap_err().to_string();
    assert!(e.contains("name"), "{e}");
    // A `name` longer than what is left: truncated, naming it.
    let mut cut = reg_file(&[1, 2, 3, 5], &fown(42), b"");
    cut.extend_from_slice(&[6 << 3 | 2, 9, b'/']);
    let e = RegFileEntry::parse(&cut).unwrap_err().to_string();
    assert!(e.contains("name"), "{e}");
}
