//! JSON output in exactly the bytes CRIU's crit prints (Python's `json.dump` with `ensure_ascii=True`),
//! and crit's value formats: base64 wrapped like `base64.encodebytes`, quoted-printable like
//! `quopri.encodestring`, flags, devices, IP addresses.
//!
//! Layout rules (Python's json module):
//! - plain (`indent=None`): separators `", "` and `": "`, everything on one line;
//! - pretty (`indent=4`): item separator `","` then a newline and the indent, key separator `": "`;
//!   an empty array or object is `[]` / `{}` on one line in both modes.
//!
//! The writer appends to an in-memory buffer; callers flush it to an `io::Write` between entries, so
//! output streams with bounded memory.

/// Streaming JSON writer with crit's layout.
#[derive(Debug)]
pub struct JsonWriter {
    buf: Vec<u8>,
    pretty: bool,
    // Nesting state: for each open container, whether it already holds an element.
    stack: Vec<bool>,
    after_key: bool,
}

impl JsonWriter {
    /// A writer in plain (`crit decode`) or pretty (`--pretty`, `show`) layout.
    pub fn new(pretty: bool) -> Self {
        todo!()
    }
    /// Whether this writer renders crit's pretty forms (hex, flags, dev, dict, ipadd).
    pub fn pretty(&self) -> bool {
        self.pretty
    }
    /// The bytes written so far and not yet taken.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }
    /// Moves the buffered bytes to `out` and clears the buffer.
    pub fn flush_to(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        todo!()
    }
    /// Takes the buffered bytes.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn begin_object(&mut self) {
        todo!()
    }
    pub fn end_object(&mut self) {
        todo!()
    }
    pub fn begin_array(&mut self) {
        todo!()
    }
    pub fn end_array(&mut self) {
        todo!()
    }
    /// An object key; the next call writes its value.
    pub fn key(&mut self, k: &str) {
        todo!()
    }

    pub fn bool(&mut self, v: bool) {
        todo!()
    }
    pub fn u64(&mut self, v: u64) {
        todo!()
    }
    pub fn i64(&mut self, v: i64) {
        todo!()
    }
    /// `"0x%x"` of the value, as Python prints it (negative values as `"-0x1"`).
    pub fn hex(&mut self, v: i128) {
        todo!()
    }
    /// A JSON string of an ASCII/UTF-8 `&str` (enum names, formatted values), escaped like Python.
    pub fn str(&mut self, s: &str) {
        todo!()
    }
    /// A JSON string of a protobuf `string` field's bytes. Valid UTF-8 is escaped like Python's
    /// `ensure_ascii` (non-ASCII as `\uXXXX`, astral characters as surrogate pairs). Bytes that are
    /// not valid UTF-8 become lone surrogates `\udc80`..`\udcff` (Python's `surrogateescape`), so
    /// the value survives decode → encode exactly.
    pub fn str_bytes(&mut self, s: &[u8]) {
        todo!()
    }
    /// `base64.encodebytes(data)` as a JSON string: standard alphabet with padding, a newline after
    /// every 76 output characters and a trailing one; `""` for empty data.
    pub fn base64(&mut self, data: &[u8]) {
        todo!()
    }
    /// `quopri.encodestring(data)` (binascii `b2a_qp`, `quotetabs=False`, `header=False`) as a JSON
    /// string: what crit prints for `(criu).conv = "unix_name"`.
    pub fn quopri(&mut self, data: &[u8]) {
        todo!()
    }
    /// Writes raw, already-valid JSON text as a value.
    pub fn raw_value(&mut self, json: &str) {
        todo!()
    }
}

/// A flag table from `proto/flags.toml`: names in output order with their bit values.
pub type FlagTable = [(&'static str, u64)];
/// A dict table from `proto/dicts.toml`: value → name.
pub type DictTable = [(u64, &'static str)];

/// crit's flags rendering: names of every table entry whose bits are all set in `v`... exactly:
/// for each `(name, bit)` in order, if `v & bit != 0` the name is added and those bits cleared;
/// leftover bits are appended as `0x%x`; joined by `" | "`; `v == 0` gives `""`.
pub fn format_flags(v: u64, table: &FlagTable, out: &mut String) {
    todo!()
}

/// Kernel `MKDEV` encoding (20 minor bits): `"maj:min"`.
pub fn format_dev_kernel(v: u64, out: &mut String) {
    todo!()
}

/// glibc `dev_t` encoding (`os.major` / `os.minor`): `"maj:min"`.
pub fn format_dev_old(v: u64, out: &mut String) {
    todo!()
}

/// crit's ipadd form: one element → IPv4 of `ntohl(words[0])`; otherwise IPv6 of the first four
/// words in network order, Python's `ipaddress` `.compressed` text. Returns `None` when there are
/// neither 1 nor at least 4 words (the caller then prints the raw list).
pub fn format_ipadd(words: &[u32]) -> Option<String> {
    todo!()
}

/// crit's `human_readable` for `show --nopl`: `"%d%sB"` when the scaled value is integral, else
/// `"%.1f%sB"`, units `''`, K, M, G, T, P, E, Z (base 1024).
pub fn human_readable(n: u64) -> String {
    todo!()
}
