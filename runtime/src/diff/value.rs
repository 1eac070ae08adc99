//! The values a diff compares: each compared object (a process, an fd's target, a VMA, a file, a
//! namespace, a mount) becomes a [`Record`], a fixed list of named [`Value`]s, and two records
//! are compared field by field. One list per kind of object means the text and the JSON say the
//! same thing, and every key is present in JSON (`null` when absent).

use std::fmt::Write as _;

use criu_image_proto::FlagName;
use criu_image_proto::support::json::JsonWriter;

/// One compared value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// Absent (JSON `null`, text `-`).
    Null,
    /// Yes or no.
    Bool(bool),
    /// A count, id or size (JSON number).
    U64(u64),
    /// A signed number (JSON number).
    I64(i64),
    /// An address or offset (JSON `"0x..."`).
    Hex(u64),
    /// A file mode (JSON number, text octal).
    Mode(u32),
    /// Text made by the diff (names of enum-like values are lower case).
    Str(String),
    /// Bytes from an image (a path, a name): JSON keeps them exactly (`\udcXX` for non-UTF-8).
    Bytes(Vec<u8>),
    /// A flag word as the C names of its bits (and unnamed bits as one hex string); JSON gives
    /// the names in lower case.
    Flags(Vec<String>),
    /// A list.
    List(Vec<Value>),
    /// A command line: JSON an array of strings, text as a shell would take it back.
    Args(Vec<Vec<u8>>),
}

impl Value {
    /// Bytes, or `Null` when absent.
    pub(crate) fn opt_bytes(b: Option<&[u8]>) -> Value {
        b.map_or(Value::Null, |b| Value::Bytes(b.to_vec()))
    }

    /// A number, or `Null` when absent.
    pub(crate) fn opt_u64(v: Option<u64>) -> Value {
        v.map_or(Value::Null, Value::U64)
    }

    /// A flag word's names from a generated flag type's `names()`.
    pub(crate) fn flags(names: impl Iterator<Item = FlagName>) -> Value {
        Value::Flags(
            names
                .map(|n| match n {
                    FlagName::Name(s) => s.to_string(),
                    FlagName::Bits(b) => format!("{b:#x}"),
                })
                .collect(),
        )
    }

    /// The value for people.
    pub fn text(&self) -> String {
        match self {
            Value::Null => "-".into(),
            Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
            Value::U64(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::Hex(v) => format!("{v:#x}"),
            Value::Mode(m) => format!("0{m:o}"),
            Value::Str(s) => s.clone(),
            Value::Bytes(b) if b.is_empty() => "\"\"".into(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Flags(f) if f.is_empty() => "0".into(),
            Value::Flags(f) => f.join("|"),
            Value::Args(a) => crate::memory::quote_args(a),
            Value::List(l) => {
                let mut s = String::from("[");
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    let _ = write!(s, "{}", v.text());
                }
                s.push(']');
                s
            }
        }
    }

    /// The value as JSON (see the module docs of [`crate::diff`] for the conventions).
    pub fn write_json(&self, w: &mut JsonWriter<'_>) {
        match self {
            Value::Null => w.raw_value("null"),
            Value::Bool(b) => w.bool(*b),
            Value::U64(v) => w.u64(*v),
            Value::I64(v) => w.i64(*v),
            Value::Hex(v) => w.hex(i128::from(*v)),
            Value::Mode(m) => w.u64(u64::from(*m)),
            Value::Str(s) => w.str(s),
            Value::Bytes(b) => w.str_bytes(b),
            Value::Flags(f) => {
                w.begin_array();
                for n in f {
                    w.str(&n.to_ascii_lowercase());
                }
                w.end_array();
            }
            Value::List(l) => {
                w.begin_array();
                for v in l {
                    v.write_json(w);
                }
                w.end_array();
            }
            Value::Args(a) => {
                w.begin_array();
                for s in a {
                    w.str_bytes(s);
                }
                w.end_array();
            }
        }
    }
}

/// A compared object as named values, in a fixed order per kind of object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// `(name, value)`, in the kind's order.
    pub fields: Vec<(&'static str, Value)>,
}

impl Record {
    pub(crate) fn push(&mut self, name: &'static str, v: Value) {
        self.fields.push((name, v));
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The fields whose values differ (the records are of the same kind, so the same names in
    /// the same order; a field only one has counts as changed from or to `null`).
    pub fn changes(a: &Record, b: &Record) -> Vec<FieldChange> {
        let mut out = Vec::new();
        for (name, va) in &a.fields {
            let vb = b.get(name).unwrap_or(&Value::Null);
            if va != vb {
                out.push(FieldChange { field: name, a: va.clone(), b: vb.clone() });
            }
        }
        for (name, vb) in &b.fields {
            if a.get(name).is_none() && *vb != Value::Null {
                out.push(FieldChange { field: name, a: Value::Null, b: vb.clone() });
            }
        }
        out
    }

    /// The record as one JSON object.
    pub fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        for (name, v) in &self.fields {
            w.key(name);
            v.write_json(w);
        }
        w.end_object();
    }
}

/// One field whose value differs between A and B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's name (as in the records).
    pub field: &'static str,
    /// Its value in A.
    pub a: Value,
    /// Its value in B.
    pub b: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_the_fields_that_differ() {
        let mut a = Record::default();
        a.push("end", Value::Hex(0x2000));
        a.push("prot", Value::Str("rw-".into()));
        let mut b = a.clone();
        assert!(Record::changes(&a, &b).is_empty());
        b.fields[1].1 = Value::Str("r--".into());
        let c = Record::changes(&a, &b);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].field, c[0].a.text(), c[0].b.text()), ("prot", "rw-".into(), "r--".into()));
    }

    #[test]
    fn text_and_json_forms() {
        let mut w = JsonWriter::new(false);
        let v = Value::List(vec![
            Value::Null,
            Value::Hex(0x7f00),
            Value::Mode(0o100644),
            Value::Flags(vec!["O_RDWR".into(), "0x100000".into()]),
            Value::Bytes(b"/a\xff".to_vec()),
        ]);
        v.write_json(&mut w);
        assert_eq!(String::from_utf8(w.take()).unwrap(), r#"[null, "0x7f00", 33188, ["o_rdwr", "0x100000"], "/a\udcff"]"#);
        assert_eq!(v.text(), "[-, 0x7f00, 0100644, O_RDWR|0x100000, /a\u{fffd}]");
        assert_eq!(Value::Flags(vec![]).text(), "0");
        assert_eq!(Value::Bytes(vec![]).text(), "\"\"");
    }
}
