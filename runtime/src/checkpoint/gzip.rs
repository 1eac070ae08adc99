//! gzip files (RFC 1952) read as one stream: each member's header parsed here, its deflate data
//! inflated with a raw decoder straight into the reader's buffer, and its CRC-32 and ISIZE
//! checked against the trailer. A reading can be copied at any point ([`GzState`]) and resumed
//! from there, which is how a large tar.gz member is read later without decompressing what
//! comes before it.
//!
//! Why not flate2's `MultiGzDecoder`: with the zlib-rs backend its CRC-32 is zlib-rs's 128-bit
//! folding loop, which on the large checkpoint's 60 MB took as long as the inflate itself
//! (crc32fast, AVX-512 where the CPU has it, takes a third of that); its decoder cannot be
//! copied; and owning the framing lets errors say which member and which byte.

use std::io::{self, Read};

use libz_rs_sys as z;

/// Output per inflate call: small enough that the CRC reads what was just written from cache,
/// large enough that the decoder's window upkeep (a 32 KiB copy per call) stays small.
const CHUNK: usize = 1 << 20;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;

/// A raw deflate decoder: zlib-rs through its zlib API, which (unlike flate2's) can copy a
/// decoder in the middle of a stream (`inflateCopy`). The stream is boxed because zlib's state
/// points back at it.
struct RawInflate {
    strm: Box<z::z_stream>,
}

// SAFETY: the stream and its state are owned by this value alone (nothing else points into
// them), and the input and output pointers are set afresh before each call; `&self` methods
// only read the state.
unsafe impl Send for RawInflate {}
unsafe impl Sync for RawInflate {}

/// A non-null output pointer for streams that have no output buffer: `inflateCopy` refuses a
/// stream whose `next_out` is null, which a fresh stream's is.
static mut NO_OUTPUT: u8 = 0;

impl RawInflate {
    fn new() -> io::Result<RawInflate> {
        let mut strm = Box::new(z::z_stream::default());
        // SAFETY: `strm` is a default stream (no allocator set: zlib-rs uses Rust's), the
        // version string is zlib-rs's own, and the size is that of the struct passed.
        let rc = unsafe { z::inflateInit2_(&mut *strm, -15, z::zlibVersion(), size_of::<z::z_stream>() as i32) };
        if rc != z::Z_OK {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, format!("cannot set up a deflate decoder (zlib code {rc})")));
        }
        let mut raw = RawInflate { strm };
        raw.park();
        Ok(raw)
    }

    /// Points the stream at no input and at the dummy output, so that no pointer into a
    /// buffer of a finished call outlives it and the stream can be copied.
    fn park(&mut self) {
        self.strm.next_in = std::ptr::null();
        self.strm.avail_in = 0;
        self.strm.next_out = &raw mut NO_OUTPUT;
        self.strm.avail_out = 0;
    }

    fn reset(&mut self) {
        // SAFETY: the stream was initialised by `new` (or copied from one that was).
        unsafe { z::inflateReset(&mut *self.strm) };
        self.park();
    }

    /// Inflates from `input` into `out`: (input used, output made, whether the deflate stream
    /// ended), or zlib's message.
    fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize, bool), String> {
        let avail_in = input.len().min(u32::MAX as usize);
        let avail_out = out.len().min(u32::MAX as usize);
        self.strm.next_in = input.as_ptr();
        self.strm.avail_in = avail_in as u32;
        self.strm.next_out = out.as_mut_ptr();
        self.strm.avail_out = avail_out as u32;
        // SAFETY: the stream is initialised, and next_in/avail_in and next_out/avail_out
        // describe live slices for the duration of the call.
        let rc = unsafe { z::inflate(&mut *self.strm, z::Z_NO_FLUSH) };
        let used = avail_in - self.strm.avail_in as usize;
        let made = avail_out - self.strm.avail_out as usize;
        let msg = self.strm.msg;
        self.park();
        match rc {
            z::Z_OK | z::Z_BUF_ERROR => Ok((used, made, false)),
            z::Z_STREAM_END => Ok((used, made, true)),
            _ if msg.is_null() => Err(format!("invalid deflate data (zlib code {rc})")),
            // SAFETY: zlib's messages are static NUL-terminated strings.
            _ => Err(format!("invalid deflate data: {}", unsafe { std::ffi::CStr::from_ptr(msg) }.to_string_lossy())),
        }
    }

    /// A decoder in the same state (window included), to resume from this point later.
    fn try_clone(&self) -> io::Result<RawInflate> {
        let mut copy = Box::new(std::mem::MaybeUninit::<z::z_stream>::uninit());
        // SAFETY: `self.strm` is an initialised, parked stream (non-null next_out, no input);
        // on success `copy` holds a complete, independent stream with its own state.
        let rc = unsafe { z::inflateCopy(copy.as_mut_ptr(), &*self.strm) };
        if rc != z::Z_OK {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, format!("cannot copy a deflate decoder (zlib code {rc})")));
        }
        // SAFETY: initialised by inflateCopy.
        let strm = unsafe { Box::from_raw(Box::into_raw(copy).cast::<z::z_stream>()) };
        Ok(RawInflate { strm })
    }
}

impl Drop for RawInflate {
    fn drop(&mut self) {
        // SAFETY: initialised by `new` or `try_clone`, ended once.
        unsafe { z::inflateEnd(&mut *self.strm) };
    }
}

/// Where a reading of a gzip file stands, without the file: which member, the decoder, the
/// member's CRC so far. Kept (with [`GzState::try_clone`]) to read on from the same point
/// later, as [`GzMembers::resume`] does.
pub(super) struct GzState {
    /// Next input byte.
    pos: usize,
    inflate: RawInflate,
    /// Inside a member: its CRC so far, its output length, and where it began.
    member: Option<(crc32fast::Hasher, u64, usize)>,
    /// Members finished so far.
    done: usize,
    /// Bytes produced so far, over all members.
    out: u64,
}

impl GzState {
    /// A copy to resume from later (about 45 KiB: the decoder's window and tables).
    pub(super) fn try_clone(&self) -> io::Result<GzState> {
        Ok(GzState { pos: self.pos, inflate: self.inflate.try_clone()?, member: self.member.clone(), done: self.done, out: self.out })
    }

    /// Decompressed bytes produced before this point.
    pub(super) fn position(&self) -> u64 {
        self.out
    }
}

/// The members of a gzip file, decompressed in turn.
pub(super) struct GzMembers<'a> {
    data: &'a [u8],
    st: GzState,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<'a> GzMembers<'a> {
    pub(super) fn new(data: &'a [u8]) -> io::Result<Self> {
        Ok(GzMembers { data, st: GzState { pos: 0, inflate: RawInflate::new()?, member: None, done: 0, out: 0 } })
    }

    /// Reads `data` on from a state taken from a reading of the same bytes.
    pub(super) fn resume(data: &'a [u8], st: GzState) -> Self {
        GzMembers { data, st }
    }

    /// Where the reading stands.
    pub(super) fn state(&self) -> &GzState {
        &self.st
    }

    /// The state, to resume from later.
    pub(super) fn into_state(self) -> GzState {
        self.st
    }

    /// ISIZE of the last member (its size mod 2^32): a good capacity hint for the usual
    /// one-member file, when it is plausible; four times the input otherwise.
    pub(super) fn size_hint(data: &[u8]) -> u64 {
        let isize = data.len().checked_sub(4).map_or(0, |at| {
            u64::from(u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]))
        });
        if isize >= data.len() as u64 / 2 { isize } else { data.len() as u64 * 4 }
    }

    /// Parses the member header at `self.st.pos` and moves past it.
    fn header(&mut self) -> io::Result<()> {
        let at = self.st.pos;
        let d = &self.data[at..];
        let member = self.st.done + 1;
        let short = || bad(format!("gzip member {member} at byte {at}: truncated header"));
        if d.len() < 10 {
            return Err(short());
        }
        if d[0] != 0x1f || d[1] != 0x8b {
            return Err(bad(format!("gzip member {member} at byte {at}: no gzip magic (1f 8b)")));
        }
        if d[2] != 8 {
            return Err(bad(format!("gzip member {member} at byte {at}: compression method {} is not deflate (8)", d[2])));
        }
        let flags = d[3];
        if flags & RESERVED != 0 {
            return Err(bad(format!("gzip member {member} at byte {at}: reserved flag bits set ({flags:#04x})")));
        }
        let mut n = 10;
        if flags & FEXTRA != 0 {
            let xlen = d.get(n..n + 2).ok_or_else(short)?;
            n += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                let rest = d.get(n..).ok_or_else(short)?;
                n += rest.iter().position(|&b| b == 0).ok_or_else(short)? + 1;
            }
        }
        if flags & FHCRC != 0 {
            let want = d.get(n..n + 2).ok_or_else(short)?;
            let got = crc32fast::hash(&d[..n]) as u16;
            if got != u16::from_le_bytes([want[0], want[1]]) {
                return Err(bad(format!("gzip member {member} at byte {at}: header CRC mismatch")));
            }
            n += 2;
        }
        if n > d.len() {
            return Err(short());
        }
        self.st.pos = at + n;
        self.st.inflate.reset();
        self.st.member = Some((crc32fast::Hasher::new(), 0, at));
        Ok(())
    }

    /// Checks the trailer of the member that just ended and moves past it.
    fn trailer(&mut self) -> io::Result<()> {
        let (crc, len, start) = self.st.member.take().expect("inside a member");
        let member = self.st.done + 1;
        let t = self.data.get(self.st.pos..self.st.pos + 8).ok_or_else(|| {
            bad(format!("gzip member {member} at byte {start}: truncated trailer (the file was cut short)"))
        })?;
        let want_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let want_len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        let got_crc = crc.finalize();
        if got_crc != want_crc {
            return Err(bad(format!(
                "gzip member {member} at byte {start}: CRC-32 of the data is {got_crc:08x}, the trailer says {want_crc:08x} (corrupt file)"
            )));
        }
        if len as u32 != want_len {
            return Err(bad(format!(
                "gzip member {member} at byte {start}: {len} bytes of data, the trailer says {want_len} (mod 2^32)"
            )));
        }
        self.st.pos += 8;
        self.st.done += 1;
        Ok(())
    }
}

impl Read for GzMembers<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.st.member.is_none() {
                let rest = &self.data[self.st.pos..];
                // After the first member, zeros are padding (as gzip(1) takes them), not a member.
                if self.st.done > 0 && rest.iter().all(|&b| b == 0) {
                    return Ok(0);
                }
                self.header()?;
            }
            let room = buf.len().min(CHUNK);
            let out = &mut buf[..room];
            let (used, made, ended) = self.st.inflate.inflate(&self.data[self.st.pos..], out).map_err(|e| {
                let (_, _, start) = self.st.member.as_ref().expect("inside a member");
                bad(format!("gzip member {} at byte {start}: {e}", self.st.done + 1))
            })?;
            self.st.pos += used;
            self.st.out += made as u64;
            let (crc, len, start) = self.st.member.as_mut().expect("inside a member");
            crc.update(&out[..made]);
            *len += made as u64;
            let start = *start;
            if ended {
                self.trailer()?;
            } else if used == 0 && made == 0 {
                // The decoder has all the input there is and the output room: no progress means
                // the deflate stream stops before its end.
                return Err(bad(format!(
                    "gzip member {} at byte {start}: the compressed data ends early (the file was cut short)",
                    self.st.done + 1
                )));
            }
            if made > 0 {
                return Ok(made);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn all(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzMembers::new(data)?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn err(data: &[u8]) -> String {
        all(data).unwrap_err().to_string()
    }

    #[test]
    fn members_in_turn_with_names_comments_extra_and_padding() {
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8 ^ (i >> 12) as u8).collect();
        let mut file = gz(&body[..1000]);
        // A member with every optional header field, written with flate2's builder.
        let mut e = flate2::GzBuilder::new()
            .filename("pages-1.img")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4])
            .write(Vec::new(), flate2::Compression::best());
        e.write_all(&body[1000..]).unwrap();
        file.extend_from_slice(&e.finish().unwrap());
        file.extend_from_slice(&[0; 512]);
        assert_eq!(all(&file).unwrap(), body);
        // And an empty member.
        assert_eq!(all(&gz(b"")).unwrap(), b"");
    }

    #[test]
    fn every_damage_is_an_error_that_names_the_member() {
        let body = vec![7u8; 100_000];
        let good = gz(&body);
        let mut two = gz(b"first");
        two.extend_from_slice(&good);
        let at = two.len() - good.len();
        // Cut anywhere inside: an error, never a short read taken for the whole.
        for cut in [1, 9, 10, good.len() / 2, good.len() - 8, good.len() - 1] {
            assert!(all(&good[..cut]).is_err(), "cut at {cut}");
        }
        let m = err(&two[..two.len() - 3]);
        assert!(m.starts_with(&format!("gzip member 2 at byte {at}: truncated trailer")), "{m}");
        let mut crc = good.clone();
        let n = crc.len();
        crc[n - 8] ^= 1;
        assert!(err(&crc).contains("CRC-32 of the data is"), "{}", err(&crc));
        let mut len = good.clone();
        len[n - 4] ^= 1;
        assert!(err(&len).contains("bytes of data, the trailer says"), "{}", err(&len));
        let mut method = good.clone();
        method[2] = 7;
        assert!(err(&method).contains("is not deflate"), "{}", err(&method));
        let mut reserved = good.clone();
        reserved[3] = 0x80;
        assert!(err(&reserved).contains("reserved flag bits"), "{}", err(&reserved));
        let mut garbage = good.clone();
        garbage.extend_from_slice(b"junk after the member");
        assert!(err(&garbage).starts_with(&format!("gzip member 2 at byte {}: no gzip magic", good.len())), "{}", err(&garbage));
        let mut deflate = good.clone();
        deflate[10] = 0xff;
        assert!(err(&deflate).starts_with("gzip member 1 at byte 0:"), "{}", err(&deflate));
        // A header CRC is checked when present.
        let mut hcrc = vec![0x1f, 0x8b, 8, FHCRC, 0, 0, 0, 0, 0, 3];
        let c = crc32fast::hash(&hcrc) as u16;
        hcrc.extend_from_slice(&c.to_le_bytes());
        hcrc.extend_from_slice(&good[10..]);
        assert_eq!(all(&hcrc).unwrap(), body);
        hcrc[10] ^= 1;
        assert!(err(&hcrc).contains("header CRC mismatch"));
    }
}
