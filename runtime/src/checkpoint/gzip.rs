//! gzip files (RFC 1952) read as one stream: each member's header parsed here, its deflate data
//! inflated with a raw decoder straight into the reader's buffer, and its CRC-32 and ISIZE
//! checked against the trailer.
//!
//! Why not `flate2::bufread::MultiGzDecoder`: with the zlib-rs backend its CRC-32 is zlib-rs's
//! 128-bit folding loop, which on the large checkpoint's 60 MB took as long as the inflate
//! itself; crc32fast (AVX-512 where the CPU has it) takes a third of that. Owning the framing also
//! lets errors say which member and which byte.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

/// Output per inflate call: small enough that the CRC reads what was just written from cache,
/// large enough that the decoder's window upkeep (a 32 KiB copy per call) stays small.
const CHUNK: usize = 1 << 20;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;

/// The members of a gzip file, decompressed in turn.
pub(super) struct GzMembers<'a> {
    data: &'a [u8],
    /// Next input byte.
    pos: usize,
    inflate: Decompress,
    /// Inside a member: its CRC so far, its output length, and where it began.
    member: Option<(crc32fast::Hasher, u64, usize)>,
    /// Members finished so far.
    done: usize,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<'a> GzMembers<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        GzMembers { data, pos: 0, inflate: Decompress::new(false), member: None, done: 0 }
    }

    /// ISIZE of the last member (its size mod 2^32): a good capacity hint for the usual
    /// one-member file, when it is plausible; four times the input otherwise.
    pub(super) fn size_hint(data: &[u8]) -> u64 {
        let isize = data.len().checked_sub(4).map_or(0, |at| {
            u64::from(u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]))
        });
        if isize >= data.len() as u64 / 2 { isize } else { data.len() as u64 * 4 }
    }

    /// Parses the member header at `self.pos` and moves past it.
    fn header(&mut self) -> io::Result<()> {
        let at = self.pos;
        let d = &self.data[at..];
        let member = self.done + 1;
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
        self.pos = at + n;
        self.inflate.reset(false);
        self.member = Some((crc32fast::Hasher::new(), 0, at));
        Ok(())
    }

    /// Checks the trailer of the member that just ended and moves past it.
    fn trailer(&mut self) -> io::Result<()> {
        let (crc, len, start) = self.member.take().expect("inside a member");
        let member = self.done + 1;
        let t = self.data.get(self.pos..self.pos + 8).ok_or_else(|| {
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
        self.pos += 8;
        self.done += 1;
        Ok(())
    }
}

impl Read for GzMembers<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.member.is_none() {
                let rest = &self.data[self.pos..];
                // After the first member, zeros are padding (as gzip(1) takes them), not a member.
                if self.done > 0 && rest.iter().all(|&b| b == 0) {
                    return Ok(0);
                }
                self.header()?;
            }
            let room = buf.len().min(CHUNK);
            let out = &mut buf[..room];
            let (in0, out0) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self.inflate.decompress(&self.data[self.pos..], out, FlushDecompress::None).map_err(|e| {
                let (_, _, start) = self.member.as_ref().expect("inside a member");
                bad(format!("gzip member {} at byte {start}: {e}", self.done + 1))
            })?;
            let used = (self.inflate.total_in() - in0) as usize;
            let made = (self.inflate.total_out() - out0) as usize;
            self.pos += used;
            let (crc, len, start) = self.member.as_mut().expect("inside a member");
            crc.update(&out[..made]);
            *len += made as u64;
            let start = *start;
            if status == Status::StreamEnd {
                self.trailer()?;
            } else if used == 0 && made == 0 {
                // The decoder has all the input there is and the output room: no progress means
                // the deflate stream stops before its end.
                return Err(bad(format!(
                    "gzip member {} at byte {start}: the compressed data ends early (the file was cut short)",
                    self.done + 1
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
        GzMembers::new(data).read_to_end(&mut out)?;
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
