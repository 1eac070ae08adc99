//! Views read a message's scalar fields first in number order (the order protobuf-c writes),
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
