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
pub struct JsonWriter<'s> {
    buf: Vec<u8>,
    pretty: bool,
    // Nesting state: for each open container, whether it already holds an element.
    stack: Vec<bool>,
    after_key: bool,
    // Streaming: where the buffer spills once it passes `SPILL_AT` (checked as containers close,
    // so one huge entry, like an mm image's 30 000 VMAs, never sits in memory whole), and the
    // first error that destination gave.
    sink: Option<&'s mut dyn std::io::Write>,
    error: Option<std::io::Error>,
    // While held, nothing spills: the caller has not yet checked what is buffered.
    held: bool,
    // A nested message that failed to parse (or nested too deep) was met while writing: what is
    // buffered is not the image's document.
    poisoned: bool,
}

impl std::fmt::Debug for JsonWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonWriter").field("pretty", &self.pretty).field("buffered", &self.buf.len()).finish()
    }
}

/// A streaming writer spills its buffer to its destination once it holds this much.
pub const SPILL_AT: usize = 128 * 1024;

impl JsonWriter<'static> {
    /// A writer in plain (`crit decode`) or pretty (`--pretty`, `show`) layout.
    pub fn new(pretty: bool) -> Self {
        JsonWriter {
            // Entries are flushed between images' objects; start big enough that typical entries
            // never reallocate.
            buf: Vec::with_capacity(64 * 1024),
            pretty,
            stack: Vec::with_capacity(16),
            sink: None,
            error: None,
            after_key: false,
            held: false,
            poisoned: false,
        }
    }
}

impl<'s> JsonWriter<'s> {
    /// A writer that streams into `sink`: the buffer is written out whenever it passes
    /// [`SPILL_AT`] at the end of an object or array. Call [`JsonWriter::finish`] at the end.
    pub fn streaming(pretty: bool, sink: &'s mut dyn std::io::Write) -> Self {
        let JsonWriter { buf, stack, after_key, .. } = JsonWriter::new(pretty);
        JsonWriter { buf, pretty, stack, after_key, sink: Some(sink), error: None, held: false, poisoned: false }
    }

    /// Holds the output in memory (`true`) or lets a streaming writer spill again (`false`):
    /// for a caller that checks the image as it writes, and sends nothing until it knows the
    /// image is whole.
    pub fn hold(&mut self, held: bool) {
        self.held = held;
        if !held {
            self.maybe_spill();
        }
    }

    /// Makes room for at least `additional` more bytes of output: for a caller that knows about
    /// how much an entry will write (a large one grows the buffer once instead of doubling it
    /// from 64 KiB, each doubling a copy wherever the allocator cannot move pages instead).
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Marks the output as wrong: a view met a nested message it could not read while writing
    /// (views write what they can; the caller that checks as it writes looks at
    /// [`JsonWriter::poisoned`] and discards the buffer).
    #[cold]
    pub fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Whether [`JsonWriter::poison`] was called.
    pub fn poisoned(&self) -> bool {
        self.poisoned
    }

    /// How many arrays and objects are open.
    #[inline]
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Writes what is buffered to the sink and returns the first error the sink gave.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.spill();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn spill(&mut self) {
        if let Some(sink) = self.sink.as_mut() {
            if self.error.is_none()
                && let Err(e) = sink.write_all(&self.buf) {
                    self.error = Some(e);
                }
            self.buf.clear();
        }
    }

    #[inline]
    fn maybe_spill(&mut self) {
        if self.buf.len() >= SPILL_AT && self.sink.is_some() && !self.held {
            self.spill();
        }
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
    ///
    /// The buffer is cleared even when the write fails: the output is broken either way, and a
    /// retry must not repeat bytes that may already have been written.
    pub fn flush_to(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let r = out.write_all(&self.buf);
        self.buf.clear();
        r
    }
    /// Takes the buffered bytes.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Opens an object (`{`).
    pub fn begin_object(&mut self) {
        self.before_value();
        self.buf.push(b'{');
        self.stack.push(false);
    }
    /// Closes the innermost object (`}`).
    pub fn end_object(&mut self) {
        self.close(b'}');
        self.maybe_spill();
    }
    /// Opens an array (`[`).
    pub fn begin_array(&mut self) {
        self.before_value();
        self.buf.push(b'[');
        self.stack.push(false);
    }
    /// Closes the innermost array (`]`).
    pub fn end_array(&mut self) {
        self.close(b']');
        self.maybe_spill();
    }
    /// An object key; the next call writes its value.
    #[inline]
    pub fn key(&mut self, k: &str) {
        // A key without a value before it is a caller bug; the writer stays consistent anyway.
        self.after_key = false;
        self.element_separator();
        // Keys are mostly the schema's field names, short and plain: one check and one copy
        // instead of the general escaper (which was a tenth of `crit decode` of an mm image).
        let kb = k.as_bytes();
        self.buf.reserve(kb.len() + 4);
        self.buf.push(b'"');
        if kb.iter().all(|&b| ESCAPE[b as usize] == PLAIN) {
            self.buf.extend_from_slice(kb);
        } else {
            escape_str(&mut self.buf, k);
        }
        self.buf.extend_from_slice(b"\": ");
        self.after_key = true;
    }

    /// A key that needs no escaping (the schema's field names, which codegen checks): written
    /// as it is. Inlined, so that a literal key is a copy of known length.
    #[inline(always)]
    pub fn plain_key(&mut self, k: &'static str) {
        self.after_key = false;
        self.element_separator();
        let kb = k.as_bytes();
        self.buf.reserve(kb.len() + 4);
        self.buf.push(b'"');
        self.buf.extend_from_slice(kb);
        self.buf.extend_from_slice(b"\": ");
        self.after_key = true;
    }

    /// `true` or `false`.
    pub fn bool(&mut self, v: bool) {
        self.before_value();
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }
    /// An unsigned integer, in decimal.
    pub fn u64(&mut self, v: u64) {
        self.before_value();
        push_u64(&mut self.buf, v);
    }
    /// A signed integer, in decimal.
    pub fn i64(&mut self, v: i64) {
        self.before_value();
        if v < 0 {
            self.buf.push(b'-');
        }
        push_u64(&mut self.buf, v.unsigned_abs());
    }
    /// `"0x%x"` of the value, as Python prints it (negative values as `"-0x1"`).
    pub fn hex(&mut self, v: i128) {
        self.before_value();
        self.buf.push(b'"');
        if v < 0 {
            self.buf.push(b'-');
        }
        self.buf.extend_from_slice(b"0x");
        push_hex(&mut self.buf, v.unsigned_abs());
        self.buf.push(b'"');
    }
    /// A JSON string of flag names, crit's `A | B` form ([`format_flags`]), written in place.
    pub fn flags(&mut self, v: u64, table: &'static FlagTable) {
        self.before_value();
        self.buf.push(b'"');
        let start = self.buf.len();
        // Writing to a Vec cannot fail.
        let _ = super::flags::write_names(super::flags::FlagNames::new(v, table), &mut BytesSink(&mut self.buf));
        // Flag names are identifiers (proto/flags.toml); one that needed escaping would still be
        // escaped as `str` escapes it.
        let text = &self.buf[start..];
        if text[skip_plain(text, 0)..].iter().any(|&b| ESCAPE[usize::from(b)] != PLAIN) {
            let text = self.buf.split_off(start);
            escape_str(&mut self.buf, &String::from_utf8_lossy(&text));
        }
        self.buf.push(b'"');
    }
    /// A JSON string of a device number as `"major:minor"`: kernel `MKDEV` encoding
    /// ([`format_dev_kernel`]) or, with `old`, glibc's ([`format_dev_old`]). Written in place.
    pub fn dev(&mut self, v: u64, old: bool) {
        let (major, minor) = dev_numbers(v, old);
        self.before_value();
        self.buf.push(b'"');
        push_u64(&mut self.buf, major);
        self.buf.push(b':');
        push_u64(&mut self.buf, minor);
        self.buf.push(b'"');
    }
    /// A JSON string of an ASCII/UTF-8 `&str` (enum names, formatted values), escaped like Python.
    pub fn str(&mut self, s: &str) {
        self.before_value();
        self.buf.push(b'"');
        escape_str(&mut self.buf, s);
        self.buf.push(b'"');
    }
    /// A JSON string of a protobuf `string` field's bytes. Valid UTF-8 is escaped like Python's
    /// `ensure_ascii` (non-ASCII as `\uXXXX`, astral characters as surrogate pairs). Bytes that are
    /// not valid UTF-8 become lone surrogates `\udc80`..`\udcff` (Python's `surrogateescape`), so
    /// the value survives decode → encode exactly.
    pub fn str_bytes(&mut self, s: &[u8]) {
        self.before_value();
        self.buf.push(b'"');
        // Rust's chunking splits invalid sequences at the same bytes as CPython's UTF-8 decoder
        // (both follow the Unicode "maximal subpart" practice); every invalid byte becomes its
        // own `\udcXX` anyway, so only the valid/invalid classification has to agree.
        for chunk in s.utf8_chunks() {
            escape_str(&mut self.buf, chunk.valid());
            for &b in chunk.invalid() {
                push_u_escape(&mut self.buf, 0xdc00 | u32::from(b));
            }
        }
        self.buf.push(b'"');
    }
    /// `base64.encodebytes(data)` as a JSON string: standard alphabet with padding, a newline after
    /// every 76 output characters and a trailing one; `""` for empty data.
    pub fn base64(&mut self, data: &[u8]) {
        self.before_value();
        // encodebytes encodes 57-byte slices into 76-character lines, each ended by b"\n", which
        // JSON shows as the two characters `\n`.
        let lines = data.len().div_ceil(57);
        self.buf.reserve(lines.saturating_mul(78).saturating_add(2));
        self.buf.push(b'"');
        // One output line: at most 19 four-character quanta and the two-character `\n`, so every
        // index below stays inside the array.
        let mut line = [0u8; 78];
        for chunk in data.chunks(57) {
            let mut n = 0;
            let mut triples = chunk.chunks_exact(3);
            for t in &mut triples {
                let w = u32::from(t[0]) << 16 | u32::from(t[1]) << 8 | u32::from(t[2]);
                line[n] = B64[(w >> 18) as usize & 63];
                line[n + 1] = B64[(w >> 12) as usize & 63];
                line[n + 2] = B64[(w >> 6) as usize & 63];
                line[n + 3] = B64[w as usize & 63];
                n += 4;
            }
            match *triples.remainder() {
                [a] => {
                    let w = u32::from(a) << 16;
                    line[n] = B64[(w >> 18) as usize & 63];
                    line[n + 1] = B64[(w >> 12) as usize & 63];
                    line[n + 2] = b'=';
                    line[n + 3] = b'=';
                    n += 4;
                }
                [a, b] => {
                    let w = u32::from(a) << 16 | u32::from(b) << 8;
                    line[n] = B64[(w >> 18) as usize & 63];
                    line[n + 1] = B64[(w >> 12) as usize & 63];
                    line[n + 2] = B64[(w >> 6) as usize & 63];
                    line[n + 3] = b'=';
                    n += 4;
                }
                _ => {}
            }
            line[n] = b'\\';
            line[n + 1] = b'n';
            n += 2;
            self.buf.extend_from_slice(&line[..n]);
        }
        self.buf.push(b'"');
    }
    /// `quopri.encodestring(data)` (binascii `b2a_qp`, `quotetabs=False`, `header=False`) as a JSON
    /// string: what crit prints for `(criu).conv = "unix_name"`.
    pub fn quopri(&mut self, data: &[u8]) {
        self.before_value();
        self.buf.push(b'"');
        quopri_into(&mut self.buf, data);
        self.buf.push(b'"');
    }
    /// Writes raw, already-valid JSON text as a value.
    pub fn raw_value(&mut self, json: &str) {
        self.before_value();
        self.buf.extend_from_slice(json.as_bytes());
    }

    /// Separator (and, pretty, newline + indent) before a value, unless it follows its key.
    #[inline]
    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else {
            self.element_separator();
        }
    }

    /// Separator before an element of the innermost container; nothing at top level.
    #[inline]
    fn element_separator(&mut self) {
        let depth = self.stack.len();
        let Some(has_element) = self.stack.last_mut() else {
            return;
        };
        let first = !*has_element;
        *has_element = true;
        if self.pretty {
            if !first {
                self.buf.push(b',');
            }
            newline_indent(&mut self.buf, depth);
        } else if !first {
            self.buf.extend_from_slice(b", ");
        }
    }

    fn close(&mut self, bracket: u8) {
        // A dangling key (caller bug) is dropped from the state rather than breaking later output.
        self.after_key = false;
        let had_elements = self.stack.pop().unwrap_or(false);
        if self.pretty && had_elements {
            newline_indent(&mut self.buf, self.stack.len());
        }
        self.buf.push(bracket);
    }
}

/// Newline and four spaces per nesting level (Python's `indent=4`).
#[inline]
fn newline_indent(buf: &mut Vec<u8>, depth: usize) {
    const SPACES: &[u8; 64] = b"                                                                ";
    buf.push(b'\n');
    let mut n = depth.saturating_mul(4);
    while n > 0 {
        let k = n.min(SPACES.len());
        buf.extend_from_slice(&SPACES[..k]);
        n -= k;
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Class of a byte inside a JSON string under `ensure_ascii`: [`PLAIN`] bytes are copied,
/// [`NON_ASCII`] bytes start a UTF-8 sequence to print as `\uXXXX`, anything else is the character
/// written after a backslash (`u` meaning `\u00XX`).
const PLAIN: u8 = 0;
const NON_ASCII: u8 = 1;
static ESCAPE: [u8; 256] = escape_table();

const fn escape_table() -> [u8; 256] {
    let mut t = [PLAIN; 256];
    let mut i = 0;
    while i < 256 {
        // Python escapes everything outside ' '..='~', so DEL (0x7f) is `\u007f` too.
        t[i] = if i < 0x20 || i == 0x7f {
            b'u'
        } else if i >= 0x80 {
            NON_ASCII
        } else {
            PLAIN
        };
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t
}

/// Appends `s` JSON-escaped (without quotes) exactly as Python's `ensure_ascii` encoder does.
#[inline]
fn escape_str(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    loop {
        i = skip_plain(bytes, i);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        let class = ESCAPE[b as usize];
        if class == PLAIN {
            i += 1;
            continue;
        }
        if let Some(run) = bytes.get(run_start..i) {
            buf.extend_from_slice(run);
        }
        if class == NON_ASCII {
            // `i` is always on a character boundary: it only moves over ASCII bytes and whole
            // characters.
            let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
                run_start = i;
                break;
            };
            let cp = u32::from(c);
            if cp >= 0x1_0000 {
                // Astral characters as UTF-16 surrogate pairs, like Python.
                let v = cp - 0x1_0000;
                push_u_escape(buf, 0xd800 | (v >> 10));
                push_u_escape(buf, 0xdc00 | (v & 0x3ff));
            } else {
                push_u_escape(buf, cp);
            }
            i += c.len_utf8();
        } else {
            push_byte_escape(buf, b, class);
            i += 1;
        }
        run_start = i;
    }
    if let Some(run) = bytes.get(run_start..) {
        buf.extend_from_slice(run);
    }
}

/// The index of the first byte at or after `i` that may need escaping, looking at eight bytes at
/// a time; stops within the last seven bytes, which the caller checks one by one.
#[inline]
fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per byte, the high bit of each term is set exactly when the byte needs escaping for that
    // reason; masking to 7 bits before adding keeps carries inside their byte.
    let zero_byte = |y: u64| !(((y & LOW7) + LOW7) | y);
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let low = x & LOW7;
        let flagged = (x // non-ASCII
            | (low + ONES) // DEL
            | !(low + ONES * (0x80 - 0x20)) // control characters
            | zero_byte(x ^ (ONES * u64::from(b'"')))
            | zero_byte(x ^ (ONES * u64::from(b'\\'))))
            & HIGH;
        if flagged != 0 {
            return i + (flagged.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// An ASCII byte's escape given its [`ESCAPE`] class.
#[inline]
fn push_byte_escape(buf: &mut Vec<u8>, b: u8, class: u8) {
    if class == b'u' {
        push_u_escape(buf, u32::from(b));
    } else {
        buf.extend_from_slice(&[b'\\', class]);
    }
}

/// `\uXXXX` with four lowercase hex digits (`u` is at most 0xffff).
#[inline]
fn push_u_escape(buf: &mut Vec<u8>, u: u32) {
    buf.extend_from_slice(&[
        b'\\',
        b'u',
        HEX_LOWER[(u >> 12) as usize & 15],
        HEX_LOWER[(u >> 8) as usize & 15],
        HEX_LOWER[(u >> 4) as usize & 15],
        HEX_LOWER[u as usize & 15],
    ]);
}

/// Two-digit pairs for the decimal formatter.
const DEC_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Formats `v` in decimal into the tail of `out`, returning the digits.
#[inline]
fn fmt_u64(mut v: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut pos = out.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        pos -= 2;
        out[pos] = DEC_PAIRS[pair];
        out[pos + 1] = DEC_PAIRS[pair + 1];
    }
    if v >= 10 {
        let pair = v as usize * 2;
        pos -= 2;
        out[pos] = DEC_PAIRS[pair];
        out[pos + 1] = DEC_PAIRS[pair + 1];
    } else {
        pos -= 1;
        out[pos] = b'0' + v as u8;
    }
    // u64::MAX has 20 digits, so `pos` never underflows.
    &out[pos..]
}

#[inline]
fn push_u64(buf: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 20];
    buf.extend_from_slice(fmt_u64(v, &mut tmp));
}

fn push_u64_str(out: &mut String, v: u64) {
    let mut tmp = [0u8; 20];
    for &d in fmt_u64(v, &mut tmp) {
        out.push(char::from(d));
    }
}

/// Formats `v` in lowercase hex without leading zeros (`0` for zero), as `%x`.
#[inline]
fn fmt_hex(mut v: u128, out: &mut [u8; 32]) -> &[u8] {
    // Every value CRIU writes fits 64 bits: sixteen digits from two words, then the significant ones.
    if let Ok(w) = u64::try_from(v) {
        let low: &mut [u8; 16] = (&mut out[16..]).try_into().expect("16 bytes");
        let n = hex_digits(w, low).len();
        return &out[32 - n..];
    }
    let mut pos = out.len();
    loop {
        pos -= 1;
        out[pos] = HEX_LOWER[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    // 128 bits are at most 32 hex digits, so `pos` never underflows.
    &out[pos..]
}

/// The lowercase hex digits of `v` without leading zeros (`0` for zero), at the end of `out`:
/// sixteen digits from two words, then the significant ones. Text reports (`crit x mems`,
/// `rss`) format addresses with it too.
#[inline]
pub fn hex_digits(v: u64, out: &mut [u8; 16]) -> &[u8] {
    out[..8].copy_from_slice(&hex8(v >> 32).to_be_bytes());
    out[8..].copy_from_slice(&hex8(v & 0xffff_ffff).to_be_bytes());
    let digits = (64 - v.leading_zeros()).div_ceil(4).max(1) as usize;
    &out[16 - digits..]
}

/// The eight lowercase hex digits of `x` (below 2^32) as bytes of a word, the most significant
/// digit in the top byte: each nibble spread to its own byte (three shift-and-mask steps), then
/// `'0'` added, and 39 more for the digits past 9.
#[inline]
fn hex8(x: u64) -> u64 {
    let x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    let x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    let x = (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    x + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)
}

#[inline]
fn push_hex(buf: &mut Vec<u8>, v: u128) {
    let mut tmp = [0u8; 32];
    buf.extend_from_slice(fmt_hex(v, &mut tmp));
}

fn push_hex_str(out: &mut String, v: u128) {
    let mut tmp = [0u8; 32];
    for &d in fmt_hex(v, &mut tmp) {
        out.push(char::from(d));
    }
}

/// Longest quoted-printable line before a soft break, as binascii's `MAXLINESIZE`.
const QP_MAXLINE: usize = 76;

/// Appends `b2a_qp(data, quotetabs=False, istext=True, header=False)`, JSON-escaped.
///
/// This follows CPython's `binascii_b2a_qp_impl` output loop step by step, including its quirks:
/// line ends are all written as `\r\n` when the first `\n` of the input follows a `\r`; a lone
/// `\r` is copied as is; a `.` alone on a line is encoded; a space or tab is encoded at the very
/// end of the data or (by rewriting the previous output byte) before a line end.
fn quopri_into(buf: &mut Vec<u8>, data: &[u8]) {
    let crlf = match data.iter().position(|&b| b == b'\n') {
        Some(p) if p > 0 => data.get(p - 1) == Some(&b'\r'),
        _ => false,
    };
    let mut q = QpOut { buf, last: None };
    let mut linelen = 0usize;
    let mut i = 0usize;
    while let Some(&c) = data.get(i) {
        let next = data.get(i + 1).copied();
        let at_end = next.is_none();
        let encode = c > 126
            || c == b'='
            || (c == b'.' && linelen == 0 && matches!(next, None | Some(b'\n' | b'\r' | 0)))
            || ((c == b'\t' || c == b' ') && at_end)
            || (c < 33 && c != b'\r' && c != b'\n' && c != b'\t' && c != b' ');
        if encode {
            if linelen + 3 >= QP_MAXLINE {
                q.soft_break(crlf);
                linelen = 0;
            }
            q.hex(c);
            linelen += 3;
            i += 1;
        } else if c == b'\n' || (c == b'\r' && next == Some(b'\n')) {
            linelen = 0;
            // Trailing whitespace of a line is protected by encoding it.
            if let Some(ws @ (b' ' | b'\t')) = q.last {
                q.retract_last(ws);
                q.hex(ws);
            }
            if crlf {
                q.raw(b'\r');
            }
            q.raw(b'\n');
            i += if c == b'\r' { 2 } else { 1 };
        } else {
            if !at_end && next != Some(b'\n') && linelen + 1 >= QP_MAXLINE {
                q.soft_break(crlf);
                linelen = 0;
            }
            linelen += 1;
            q.raw(c);
            i += 1;
        }
    }
}

/// Quoted-printable output written JSON-escaped, remembering the last quoted-printable byte so
/// that trailing whitespace can be rewritten.
struct QpOut<'a> {
    buf: &'a mut Vec<u8>,
    last: Option<u8>,
}

impl QpOut<'_> {
    /// One quoted-printable output byte (printable ASCII, space, tab, CR or LF), JSON-escaped.
    #[inline]
    fn raw(&mut self, b: u8) {
        let class = ESCAPE[b as usize];
        if class == PLAIN {
            self.buf.push(b);
        } else {
            push_byte_escape(self.buf, b, class);
        }
        self.last = Some(b);
    }
    /// `=XX` with uppercase hex.
    #[inline]
    fn hex(&mut self, b: u8) {
        self.buf.extend_from_slice(&[
            b'=',
            HEX_UPPER[(b >> 4) as usize],
            HEX_UPPER[(b & 15) as usize],
        ]);
        self.last = Some(HEX_UPPER[(b & 15) as usize]);
    }
    fn soft_break(&mut self, crlf: bool) {
        self.raw(b'=');
        if crlf {
            self.raw(b'\r');
        }
        self.raw(b'\n');
    }
    /// Removes the last output byte, a space (one JSON byte) or a tab (two: `\t`).
    fn retract_last(&mut self, ws: u8) {
        let n = if ws == b'\t' { 2 } else { 1 };
        let len = self.buf.len().saturating_sub(n);
        self.buf.truncate(len);
        self.last = None;
    }
}

pub use super::flags::FlagTable;
/// A dict table from `proto/dicts.toml`: value → name.
pub type DictTable = [(u64, &'static str)];

/// crit's flags rendering (see [`super::flags::FlagNames`] for the rule): the names of the bits set
/// in `v`, leftover bits as `0x%x`, joined by `" | "`; `v == 0` gives `""`.
///
/// The text is appended to `out`.
pub fn format_flags(v: u64, table: &'static FlagTable, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = super::flags::write_names(super::flags::FlagNames::new(v, table), out);
}

/// Kernel `MKDEV` encoding (20 minor bits): `"maj:min"`.
///
/// The text is appended to `out`.
pub fn format_dev_kernel(v: u64, out: &mut String) {
    let (major, minor) = dev_numbers(v, false);
    push_u64_str(out, major);
    out.push(':');
    push_u64_str(out, minor);
}

/// glibc `dev_t` encoding (`os.major` / `os.minor`): `"maj:min"`.
///
/// The text is appended to `out`.
pub fn format_dev_old(v: u64, out: &mut String) {
    let (major, minor) = dev_numbers(v, true);
    push_u64_str(out, major);
    out.push(':');
    push_u64_str(out, minor);
}

/// A device number's major and minor: kernel `MKDEV` encoding (20 minor bits) or, with `old`,
/// glibc's `dev_t`.
fn dev_numbers(v: u64, old: bool) -> (u64, u64) {
    if old { (dev_old_major(v), dev_old_minor(v)) } else { (v >> 20, v & 0xf_ffff) }
}

/// A `fmt::Write` onto the writer's bytes, for text from a `Display`-style producer.
struct BytesSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for BytesSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// glibc's `gnu_dev_major`: bits 8..20 and 44..64.
fn dev_old_major(v: u64) -> u64 {
    ((v & 0x0000_0000_000f_ff00) >> 8) | ((v & 0xffff_f000_0000_0000) >> 32)
}

/// glibc's `gnu_dev_minor`: bits 0..8 and 20..44.
fn dev_old_minor(v: u64) -> u64 {
    (v & 0xff) | ((v & 0x0000_0fff_fff0_0000) >> 12)
}

/// crit's ipadd form: one element → IPv4 of `ntohl(words[0])`; otherwise IPv6 of the first four
/// words in network order, Python's `ipaddress` `.compressed` text. Returns `None` when there are
/// neither 1 nor at least 4 words (the caller then prints the raw list).
///
/// The words hold the address bytes in memory order read as little-endian `u32` (crit runs
/// `socket.ntohl` on x86), so the address bytes are each word's `to_le_bytes()` whatever the host.
/// crit itself fails with `IndexError` on 2 or 3 words; 0 words never reach it (an empty repeated
/// field is absent). IPv4-mapped addresses print as Python 3.11 does: `::ffff:102:304`.
pub fn format_ipadd(words: &[u32]) -> Option<String> {
    match *words {
        [w] => {
            let b = w.to_le_bytes();
            let mut out = String::with_capacity(15);
            for (k, &octet) in b.iter().enumerate() {
                if k > 0 {
                    out.push('.');
                }
                push_u64_str(&mut out, u64::from(octet));
            }
            Some(out)
        }
        [w0, w1, w2, w3, ..] => {
            let mut hextets = [0u16; 8];
            for (k, w) in [w0, w1, w2, w3].into_iter().enumerate() {
                let b = w.to_le_bytes();
                hextets[2 * k] = u16::from_be_bytes([b[0], b[1]]);
                hextets[2 * k + 1] = u16::from_be_bytes([b[2], b[3]]);
            }
            Some(format_ipv6(&hextets))
        }
        _ => None,
    }
}

/// Python's `IPv6Address.compressed`: the leftmost longest run of at least two zero groups becomes
/// `::`, groups in lowercase hex without leading zeros.
fn format_ipv6(h: &[u16; 8]) -> String {
    let (mut best_start, mut best_len) = (0usize, 0usize);
    let (mut run_start, mut run_len) = (0usize, 0usize);
    for (k, &g) in h.iter().enumerate() {
        if g == 0 {
            if run_len == 0 {
                run_start = k;
            }
            run_len += 1;
            if run_len > best_len {
                best_start = run_start;
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    let mut out = String::with_capacity(39);
    let group = |out: &mut String, g: u16| push_hex_str(out, u128::from(g));
    if best_len >= 2 {
        for (k, &g) in h.iter().enumerate().take(best_start) {
            if k > 0 {
                out.push(':');
            }
            group(&mut out, g);
        }
        out.push_str("::");
        for (k, &g) in h.iter().enumerate().skip(best_start + best_len) {
            if k > best_start + best_len {
                out.push(':');
            }
            group(&mut out, g);
        }
    } else {
        for (k, &g) in h.iter().enumerate() {
            if k > 0 {
                out.push(':');
            }
            group(&mut out, g);
        }
    }
    out
}

/// crit's `human_readable` for `show --nopl`: `"%d%sB"` when the scaled value is integral, else
/// `"%.1f%sB"`, units `''`, K, M, G, T, P, E, Z (base 1024).
pub fn human_readable(n: u64) -> String {
    const UNITS: [&str; 8] = ["", "K", "M", "G", "T", "P", "E", "Z"];
    let mut out = String::with_capacity(12);
    // Python compares the int itself with 1024.0 (exactly) before its first division.
    if n < 1024 {
        push_u64_str(&mut out, n);
        out.push('B');
        return out;
    }
    // `num /= 1024.0` turns the int into the nearest double (ties to even, as `as f64` does) and
    // then divides by powers of two, which is exact. So the scaled value is m / 1024^k exactly,
    // and integer arithmetic reproduces both the `int(num) == num` test and `%.1f`'s correctly
    // rounded (half-to-even) output without going through float formatting.
    let m = n as f64 as u128; // an integer ≤ 2^64: exact
    let mut k = 1u32;
    while k < 8 && m >> (10 * (k + 1)) != 0 {
        k += 1;
    }
    // m < 2^65 < 1024^7, so the loop ends at 'E' at the latest and 'YB' cannot occur.
    let unit = UNITS.get(k as usize).copied().unwrap_or("Z");
    let d = 1u128 << (10 * k);
    // d is a power of two.
    if m & (d - 1) == 0 {
        push_u128_str(&mut out, m / d);
    } else {
        let q = m * 10; // < 2^69: no overflow
        let mut tenths = q / d;
        let rem = q % d;
        if 2 * rem > d || (2 * rem == d && tenths % 2 == 1) {
            tenths += 1;
        }
        push_u128_str(&mut out, tenths / 10);
        out.push('.');
        out.push(char::from(b'0' + (tenths % 10) as u8));
    }
    out.push_str(unit);
    out.push('B');
    out
}

fn push_u128_str(out: &mut String, v: u128) {
    // Values here are below 2^64 · 10; u64 covers every quotient human_readable produces.
    push_u64_str(out, u64::try_from(v).unwrap_or(u64::MAX));
}

#[cfg(test)]
mod tests {
    //! Expected outputs come from CPython 3.11.7 (`json.dumps`, `base64.encodebytes`,
    //! `quopri.encodestring`, `os.major`/`os.minor`, `ipaddress`, crit's `map_flags` and
    //! `human_readable`), unless a test says otherwise.

    use super::*;

    fn out(w: &mut JsonWriter) -> String {
        String::from_utf8(w.take()).expect("writer output is ASCII")
    }

    fn one(f: impl FnOnce(&mut JsonWriter)) -> String {
        let mut w = JsonWriter::new(false);
        f(&mut w);
        out(&mut w)
    }

    /// The document `{"magic": "INVENTORY", "entries": [{"a": 1, "b": [1, 2, {}], "c": {},
    /// "d": [], "e": {"x": [[]], "y": "é"}}, -5, [[1]]], "z": true, "n": null}`.
    fn write_doc(w: &mut JsonWriter) {
        w.begin_object();
        w.key("magic");
        w.str("INVENTORY");
        w.key("entries");
        w.begin_array();
        w.begin_object();
        w.key("a");
        w.u64(1);
        w.key("b");
        w.begin_array();
        w.u64(1);
        w.i64(2);
        w.begin_object();
        w.end_object();
        w.end_array();
        w.key("c");
        w.begin_object();
        w.end_object();
        w.key("d");
        w.begin_array();
        w.end_array();
        w.key("e");
        w.begin_object();
        w.key("x");
        w.begin_array();
        w.begin_array();
        w.end_array();
        w.end_array();
        w.key("y");
        w.str_bytes("é".as_bytes());
        w.end_object();
        w.end_object();
        w.i64(-5);
        w.begin_array();
        w.begin_array();
        w.u64(1);
        w.end_array();
        w.end_array();
        w.end_array();
        w.key("z");
        w.bool(true);
        w.key("n");
        w.raw_value("null");
        w.end_object();
    }

    #[test]
    fn layout_plain() {
        let mut w = JsonWriter::new(false);
        assert!(!w.pretty());
        write_doc(&mut w);
        assert_eq!(
            out(&mut w),
            r#"{"magic": "INVENTORY", "entries": [{"a": 1, "b": [1, 2, {}], "c": {}, "d": [], "e": {"x": [[]], "y": "\u00e9"}}, -5, [[1]]], "z": true, "n": null}"#
        );
    }

    #[test]
    fn layout_pretty() {
        let mut w = JsonWriter::new(true);
        assert!(w.pretty());
        write_doc(&mut w);
        let expected = PRETTY;
        assert_eq!(out(&mut w), expected);
    }

    const PRETTY: &str = r#"{
    "magic": "INVENTORY",
    "entries": [
        {
            "a": 1,
            "b": [
                1,
                2,
                {}
            ],
            "c": {},
            "d": [],
            "e": {
                "x": [
                    []
                ],
                "y": "\u00e9"
            }
        },
        -5,
        [
            [
                1
            ]
        ]
    ],
    "z": true,
    "n": null
}"#;

    #[test]
    fn layout_empty_and_scalars() {
        for pretty in [false, true] {
            let mut w = JsonWriter::new(pretty);
            w.begin_array();
            w.end_array();
            assert_eq!(out(&mut w), "[]");
            w.begin_object();
            w.end_object();
            assert_eq!(out(&mut w), "{}");
            w.u64(7);
            assert_eq!(out(&mut w), "7");
            w.begin_object();
            w.key("k");
            w.begin_array();
            w.end_array();
            w.end_object();
            assert_eq!(
                out(&mut w),
                if pretty {
                    "{\n    \"k\": []\n}"
                } else {
                    "{\"k\": []}"
                }
            );
        }
        // Deep pretty nesting indents past the writer's 64-space chunk.
        let mut w = JsonWriter::new(true);
        for _ in 0..20 {
            w.begin_array();
        }
        w.u64(0);
        for _ in 0..20 {
            w.end_array();
        }
        let s = out(&mut w);
        assert!(s.contains(&format!("\n{}0\n", " ".repeat(80))));
        assert!(s.ends_with("\n]"));
    }

    #[test]
    fn misuse_does_not_panic() {
        let mut w = JsonWriter::new(true);
        w.end_array();
        w.end_object();
        w.key("dangling");
        w.end_object();
        w.u64(1);
        assert!(!w.buffer().is_empty());
    }

    #[test]
    fn numbers() {
        for (v, s) in [
            (0u64, "0"),
            (9, "9"),
            (10, "10"),
            (99, "99"),
            (100, "100"),
            (101, "101"),
            (12345, "12345"),
            (u64::MAX, "18446744073709551615"),
        ] {
            assert_eq!(one(|w| w.u64(v)), s);
        }
        for (v, s) in [
            (0i64, "0"),
            (-1, "-1"),
            (-10, "-10"),
            (i64::MIN, "-9223372036854775808"),
            (i64::MAX, "9223372036854775807"),
        ] {
            assert_eq!(one(|w| w.i64(v)), s);
        }
        // Every power of ten and its neighbours against std's formatter.
        let mut p = 1u64;
        loop {
            for v in [p - 1, p, p + 1] {
                assert_eq!(one(|w| w.u64(v)), v.to_string());
            }
            match p.checked_mul(10) {
                Some(n) => p = n,
                None => break,
            }
        }
        assert_eq!(one(|w| w.bool(false)), "false");
    }

    #[test]
    fn hex_like_python() {
        // "0x%x" % v
        for (v, s) in [
            (0i128, r#""0x0""#),
            (0x1f, r#""0x1f""#),
            (-1, r#""-0x1""#),
            (u64::MAX as i128, r#""0xffffffffffffffff""#),
            (i128::MAX, r#""0x7fffffffffffffffffffffffffffffff""#),
            (i128::MIN, r#""-0x80000000000000000000000000000000""#),
        ] {
            assert_eq!(one(|w| w.hex(v)), s);
        }
    }

    #[test]
    fn str_escapes_all_ascii() {
        let all: String = (0u8..128).map(char::from).collect();
        assert_eq!(one(|w| w.str(&all)), ALL_ASCII);
        assert_eq!(one(|w| w.str_bytes(all.as_bytes())), ALL_ASCII);
        assert_eq!(one(|w| w.str("é€😀")), r#""\u00e9\u20ac\ud83d\ude00""#);
        assert_eq!(
            one(|w| w.str("\u{ffff}\u{10000}\u{10ffff}")),
            r#""\uffff\ud800\udc00\udbff\udfff""#
        );
    }

    const ALL_ASCII: &str = r##""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\u007f""##;

    #[test]
    fn fast_scan_flags_exactly_the_escaped_bytes() {
        for b in 0..=255u8 {
            for at in 0..16 {
                let mut bytes = [b'a'; 16];
                bytes[at] = b;
                let expected = if ESCAPE[b as usize] == PLAIN { 16 } else { at };
                // skip_plain stops within the last 7 bytes; the caller's byte loop takes over.
                let found = skip_plain(&bytes, 0);
                let mut i = found;
                while i < 16 && ESCAPE[bytes[i] as usize] == PLAIN {
                    i += 1;
                }
                assert_eq!(i, expected, "byte {b:#x} at {at}");
                assert!(found <= expected);
            }
        }
    }

    #[test]
    fn str_bytes_surrogateescape() {
        // json.dumps(b.decode("utf-8", "surrogateescape"))
        let cases: &[(&[u8], &str)] = &[
            (b"", r#""""#),
            (b"plain", r#""plain""#),
            (
                b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                r#""\u00e9\u20ac\ud83d\ude00""#,
            ),
            (b"\xff", r#""\udcff""#),
            (b"a\x80b", r#""a\udc80b""#),
            (b"\xc3", r#""\udcc3""#),
            (b"\xe2\x82", r#""\udce2\udc82""#),
            (b"\xe2\x82A", r#""\udce2\udc82A""#),
            (b"\xed\xa0\x80", r#""\udced\udca0\udc80""#),
            (b"\xc0\x80", r#""\udcc0\udc80""#),
            (b"\xf4\x90\x80\x80", r#""\udcf4\udc90\udc80\udc80""#),
            (b"\xf0\x9f\x98\x80\xf0\x9f", r#""\ud83d\ude00\udcf0\udc9f""#),
            (b"\x7f\x00\x1f\x22\x5c/", r#""\u007f\u0000\u001f\"\\/""#),
            (
                b"\x80\x8f\x9e\xad\xbc\xcb\xda\xe9\xf8",
                r#""\udc80\udc8f\udc9e\udcad\udcbc\udccb\udcda\udce9\udcf8""#,
            ),
        ];
        for &(input, expected) in cases {
            assert_eq!(one(|w| w.str_bytes(input)), expected, "{input:x?}");
        }
    }

    #[test]
    fn keys_are_escaped() {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("a\"b\u{e9}");
        w.u64(1);
        w.end_object();
        assert_eq!(out(&mut w), r#"{"a\"b\u00e9": 1}"#);
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn base64_like_encodebytes() {
        // json.dumps(base64.encodebytes(bytes((i * 7 + 3) % 256 for i in range(n))).decode())
        let cases: &[(usize, &str)] = &[
            (0, r#""""#),
            (1, r#""Aw==\n""#),
            (2, r#""Awo=\n""#),
            (3, r#""AwoR\n""#),
            (4, r#""AwoRGA==\n""#),
            (
                56,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYQ=\n""#,
            ),
            (
                57,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSL\n""#,
            ),
            (
                58,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSL\nkg==\n""#,
            ),
            (
                113,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSL\nkpmgp661vMPK0djf5u30+wIJEBceJSwzOkFIT1ZdZGtyeYCHjpWco6qxuL/GzdTb4unw9/4FDBM=\n""#,
            ),
            (
                114,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSL\nkpmgp661vMPK0djf5u30+wIJEBceJSwzOkFIT1ZdZGtyeYCHjpWco6qxuL/GzdTb4unw9/4FDBMa\n""#,
            ),
            (
                115,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSL\nkpmgp661vMPK0djf5u30+wIJEBceJSwzOkFIT1ZdZGtyeYCHjpWco6qxuL/GzdTb4unw9/4FDBMa\nIQ==\n""#,
            ),
            (
                200,
                r#""AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSL\nkpmgp661vMPK0djf5u30+wIJEBceJSwzOkFIT1ZdZGtyeYCHjpWco6qxuL/GzdTb4unw9/4FDBMa\nISgvNj1ES1JZYGdudXyDipGYn6attLvCydDX3uXs8/oBCA8WHSQrMjlAR05VXGNqcXh/ho2Um6Kp\nsLe+xczT2uHo7/b9BAsSGSAnLjU8Q0pRWF9mbXQ=\n""#,
            ),
        ];
        for &(n, expected) in cases {
            assert_eq!(one(|w| w.base64(&pattern(n))), expected, "n = {n}");
        }
    }

    #[test]
    fn quopri_like_encodestring() {
        // json.dumps(quopri.encodestring(data).decode())
        let cases: &[(&[u8], &str)] = &[
        (b"", r#""""#),
        (b"hello", r#""hello""#),
        (b"a=b", r#""a=3Db""#),
        (b"\x00\x01\x7f\x80\xff", r#""=00=01=7F=80=FF""#),
        (b"tab\x09here", r#""tab\there""#),
        (b"trailing ", r#""trailing=20""#),
        (b"trailing\x09", r#""trailing=09""#),
        (b"sp \x0ax", r#""sp=20\nx""#),
        (b"tab\x09\x0ax", r#""tab=09\nx""#),
        (b"sp \x0d\x0ax", r#""sp=20\r\nx""#),
        (b".", r#""=2E""#),
        (b".\x0a", r#""=2E\n""#),
        (b"a\x0a.\x0ab", r#""a\n=2E\nb""#),
        (b".x", r#"".x""#),
        (b"\x0a.", r#""\n=2E""#),
        (b".\x0d\x0a", r#""=2E\r\n""#),
        (b".\x00", r#""=2E=00""#),
        (b"a\x0d\x0ab\x0ac", r#""a\r\nb\r\nc""#),
        (b"a\x0ab\x0d\x0ac", r#""a\nb\nc""#),
        (b"lone\x0dcr", r#""lone\rcr""#),
        (b"\x0d", r#""\r""#),
        (b"\x0d\x0a", r#""\r\n""#),
        (b"\x22quote\x22 \x5cback", r#""\"quote\" \\back""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\naa""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x0a", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x0abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb=\nbbbbb""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\n=3D""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa==", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\n=3D=3D""#),
        (b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \x0a", r#""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=20\n""#),
        (b"\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00\x00sock/path\x00", r#""=00sock/path=00=00sock/path=00=00sock/path=00=00sock/path=00=00sock/path=00=\n=00sock/path=00=00sock/path=00=00sock/path=00=00sock/path=00=00sock/path=00""#),
        (b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x0d\x0abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\naaaaa\r\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb=\r\nbbbbb""#),
        (b" ", r#""=20""#),
        (b"\x09", r#""=09""#),
        (b"  \x0a  ", r#"" =20\n =20""#),
        ];
        for &(input, expected) in cases {
            assert_eq!(
                one(|w| w.quopri(input)),
                expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn values_after_keys_and_in_arrays() {
        let mut w = JsonWriter::new(true);
        w.begin_object();
        w.key("b64");
        w.base64(b"ab");
        w.key("qp");
        w.quopri(b"a=");
        w.key("list");
        w.begin_array();
        w.hex(16);
        w.str("x");
        w.end_array();
        w.end_object();
        assert_eq!(
            out(&mut w),
            "{\n    \"b64\": \"YWI=\\n\",\n    \"qp\": \"a=3D\",\n    \"list\": [\n        \"0x10\",\n        \"x\"\n    ]\n}"
        );
    }

    #[test]
    fn flush_take_buffer() {
        let mut w = JsonWriter::new(false);
        w.begin_array();
        w.u64(1);
        assert_eq!(w.buffer(), b"[1");
        let mut sink = Vec::new();
        w.flush_to(&mut sink).expect("Vec never fails");
        assert!(w.buffer().is_empty());
        w.u64(2);
        w.end_array();
        w.flush_to(&mut sink).expect("Vec never fails");
        assert_eq!(sink, b"[1, 2]");
        assert!(w.take().is_empty());
    }

    const PROT: &FlagTable = &[("PROT_READ", 0x1), ("PROT_WRITE", 0x2), ("PROT_EXEC", 0x4)];
    const STATUS: &FlagTable = &[
        ("VMA_AREA_NONE", 0x0),
        ("VMA_AREA_REGULAR", 0x1),
        ("VMA_AREA_STACK", 0x2),
        ("VMA_AREA_VSYSCALL", 0x4),
        ("VMA_AREA_VDSO", 0x8),
        ("VMA_AREA_HEAP", 0x20),
        ("VMA_FILE_PRIVATE", 0x40),
        ("VMA_FILE_SHARED", 0x80),
        ("VMA_ANON_SHARED", 0x100),
        ("VMA_ANON_PRIVATE", 0x200),
        ("VMA_AREA_SYSVIPC", 0x400),
        ("VMA_AREA_SOCKET", 0x800),
        ("VMA_AREA_VVAR", 0x1000),
        ("VMA_AREA_AIORING", 0x2000),
        ("VMA_AREA_MEMFD", 0x4000),
        ("VMA_AREA_SHSTK", 0x8000),
        ("VMA_AREA_UPROBES", 0x20000),
        ("VMA_UNSUPP", 0x80000000),
    ];

    #[test]
    fn hex_digits_are_formats() {
        let mut values: Vec<u128> = vec![0, 1, 9, 10, 15, 16, 0xff, u128::from(u32::MAX), u128::from(u64::MAX), u128::MAX];
        for shift in 0..128 {
            values.extend([1u128 << shift, (1u128 << shift) - 1, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210 >> shift]);
        }
        let mut tmp = [0u8; 32];
        for v in values {
            assert_eq!(fmt_hex(v, &mut tmp), format!("{v:x}").as_bytes(), "{v:#x}");
        }
    }

    #[test]
    fn flags_and_devices_in_place_are_their_strings() {
        // What the writer writes in place is what `str` writes of the formatted text.
        let odd: &FlagTable = &[("A\"B", 0x1), ("\u{e9}", 0x2)];
        let values = (0..64u64).chain([0x8000_0000, 0x1000_0000_0000_0000, u64::MAX, 0xfff0_0123_4567_89ab]);
        for v in values {
            for table in [PROT, STATUS, odd] {
                let (mut a, mut b) = (JsonWriter::new(true), JsonWriter::new(true));
                a.flags(v, table);
                let mut text = String::new();
                format_flags(v, table, &mut text);
                b.str(&text);
                assert_eq!(a.buffer(), b.buffer(), "{v:#x}");
            }
            for old in [false, true] {
                let (mut a, mut b) = (JsonWriter::new(true), JsonWriter::new(true));
                a.dev(v, old);
                let mut text = String::new();
                if old { format_dev_old(v, &mut text) } else { format_dev_kernel(v, &mut text) }
                b.str(&text);
                assert_eq!(a.buffer(), b.buffer(), "{v:#x}");
            }
        }
    }

    #[test]
    fn flags_like_crit() {
        // crit's map_flags with its mmap_prot_map / mmap_status_map
        let prot: &[(u64, &str)] = &[
            (0x0, r#""#),
            (0x1, r#"PROT_READ"#),
            (0x3, r#"PROT_READ | PROT_WRITE"#),
            (0x7, r#"PROT_READ | PROT_WRITE | PROT_EXEC"#),
            (0x8, r#"0x8"#),
            (0xf, r#"PROT_READ | PROT_WRITE | PROT_EXEC | 0x8"#),
            (0x10, r#"0x10"#),
            (0x1000000000000000, r#"0x1000000000000000"#),
        ];
        for &(v, s) in prot {
            let mut o = String::new();
            format_flags(v, PROT, &mut o);
            assert_eq!(o, s);
        }
        let status: &[(u64, &str)] = &[
            (0x0, r#""#),
            (
                0x241,
                r#"VMA_AREA_REGULAR | VMA_FILE_PRIVATE | VMA_ANON_PRIVATE"#,
            ),
            (0x80000001, r#"VMA_AREA_REGULAR | VMA_UNSUPP"#),
            (0x10, r#"0x10"#),
            (
                0xffffffff,
                r#"VMA_AREA_REGULAR | VMA_AREA_STACK | VMA_AREA_VSYSCALL | VMA_AREA_VDSO | VMA_AREA_HEAP | VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_SHARED | VMA_ANON_PRIVATE | VMA_AREA_SYSVIPC | VMA_AREA_SOCKET | VMA_AREA_VVAR | VMA_AREA_AIORING | VMA_AREA_MEMFD | VMA_AREA_SHSTK | VMA_AREA_UPROBES | VMA_UNSUPP | 0x7ffd0010"#,
            ),
            (
                0xffffffffffffffff,
                r#"VMA_AREA_REGULAR | VMA_AREA_STACK | VMA_AREA_VSYSCALL | VMA_AREA_VDSO | VMA_AREA_HEAP | VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_SHARED | VMA_ANON_PRIVATE | VMA_AREA_SYSVIPC | VMA_AREA_SOCKET | VMA_AREA_VVAR | VMA_AREA_AIORING | VMA_AREA_MEMFD | VMA_AREA_SHSTK | VMA_AREA_UPROBES | VMA_UNSUPP | 0xffffffff7ffd0010"#,
            ),
        ];
        for &(v, s) in status {
            let mut o = String::new();
            format_flags(v, STATUS, &mut o);
            assert_eq!(o, s);
        }
        // Appends to what is already there.
        let mut o = String::from("x=");
        format_flags(3, PROT, &mut o);
        assert_eq!(o, "x=PROT_READ | PROT_WRITE");
    }

    #[test]
    fn dev_formats() {
        // "%d:%d" % (os.major(v), os.minor(v))
        for (v, s) in [
            (0x0, "0:0"),
            (0x100, "1:0"),
            (0xfff00, "4095:0"),
            (0x100000, "0:256"),
            (0x80000000000, "0:2147483648"),
            (0x100000000000, "4096:0"),
            (0x8000000000000000, "2147483648:0"),
            (0xffffffffffffffff, "4294967295:4294967295"),
            (0x12345678abcdef01, "305421807:1737145345"),
            (0x803, "8:3"),
        ] {
            let mut o = String::new();
            format_dev_old(v, &mut o);
            assert_eq!(o, s, "{v:#x}");
        }
        // "%d:%d" % (v >> 20, v & 0xfffff)
        for (v, s) in [
            (0x0, "0:0"),
            (0x800003, "8:3"),
            (0xfffff, "0:1048575"),
            (0x100000, "1:0"),
            (0xffffffffffffffff, "17592186044415:1048575"),
            (0x12345678abcdef01, "1250999896764:913153"),
        ] {
            let mut o = String::new();
            format_dev_kernel(v, &mut o);
            assert_eq!(o, s, "{v:#x}");
        }
    }

    #[test]
    fn ipadd_like_ipaddress() {
        // IPv4Address(socket.ntohl(w)) / IPv6Address(...).compressed, as crit's pb2dict
        let cases: &[(&[u32], &str)] = &[
            (&[0x100007f], r#"127.0.0.1"#),
            (&[0x0], r#"0.0.0.0"#),
            (&[0xffffffff], r#"255.255.255.255"#),
            (&[0xa00a8c0], r#"192.168.0.10"#),
            (&[0x0, 0x0, 0x0, 0x0], r#"::"#),
            (&[0x0, 0x0, 0x0, 0x1000000], r#"::1"#),
            (&[0x80fe, 0x0, 0x0, 0x1000000], r#"fe80::1"#),
            (&[0x100, 0x0, 0x0, 0x0], r#"1::"#),
            (&[0x0, 0x0, 0xffff0000, 0x4030201], r#"::ffff:102:304"#),
            (&[0x0, 0x0, 0x0, 0x4030201], r#"::102:304"#),
            (&[0x1000100, 0x100, 0x0, 0x1000000], r#"1:1:1::1"#),
            (
                &[0x1000100, 0x1000000, 0x1000000, 0x1000100],
                r#"1:1:0:1:0:1:1:1"#,
            ),
            (
                &[0x1000100, 0x1000100, 0x1000100, 0x1000100],
                r#"1:1:1:1:1:1:1:1"#,
            ),
            (&[0xb80d0120, 0x0, 0x0, 0x1000000, 0x63], r#"2001:db8::1"#),
            (&[0x100, 0x1000000, 0x0, 0x1000100], r#"1::1:0:0:1:1"#),
            (&[0x100, 0x1000000, 0x0, 0x1000000], r#"1:0:0:1::1"#),
            (
                &[0x1000000, 0x1000000, 0x1000000, 0x1000000],
                r#"0:1:0:1:0:1:0:1"#,
            ),
            (
                &[0x1efcdab, 0x89674523, 0x1efcdab, 0x89674523],
                r#"abcd:ef01:2345:6789:abcd:ef01:2345:6789"#,
            ),
        ];
        for &(words, s) in cases {
            assert_eq!(format_ipadd(words).as_deref(), Some(s), "{words:x?}");
        }
        // crit raises IndexError for 2 or 3 words; 0 words never reach it.
        assert_eq!(format_ipadd(&[]), None);
        assert_eq!(format_ipadd(&[1, 2]), None);
        assert_eq!(format_ipadd(&[1, 2, 3]), None);
    }

    #[test]
    fn human_readable_like_crit() {
        for (n, s) in [
            (0, r#"0B"#),
            (1, r#"1B"#),
            (1023, r#"1023B"#),
            (1024, r#"1KB"#),
            (1025, r#"1.0KB"#),
            (1536, r#"1.5KB"#),
            (1280, r#"1.2KB"#),
            (1792, r#"1.8KB"#),
            (2047, r#"2.0KB"#),
            (2048, r#"2KB"#),
            (1048575, r#"1024.0KB"#),
            (1048576, r#"1MB"#),
            (1048577, r#"1.0MB"#),
            (123456789, r#"117.7MB"#),
            (5368709120, r#"5GB"#),
            (1100048498688, r#"1.0TB"#),
            (9007199254740993, r#"8PB"#),
            (1152921504606846976, r#"1EB"#),
            (9223372036854775808, r#"8EB"#),
            (18446744073709551615, r#"16EB"#),
            (1048552, r#"1024.0KB"#),
            (1048524, r#"1023.9KB"#),
            (1048523, r#"1023.9KB"#),
        ] {
            assert_eq!(human_readable(n), s, "{n}");
        }
    }
}
