//! Image file names: CRIU's printf-style patterns of `criu/image-desc.c` (from `proto/kinds.toml`),
//! formatted and matched in one place.
//!
//! The grammar is the subset CRIU's patterns use (codegen refuses anything else): literal text and
//! at most one conversion, `%u`, `%lu`, `%d`, `%ld` (decimal; `%d` may be negative) or `%x`, `%lx`
//! (lower-case hex, as CRIU's `ghost-file-%x.img` and `tcp-stream-%x.img`).

use std::fmt::{self, Write as _};

/// One file-name pattern of an image kind (or of a raw image), e.g. `core-%u.img`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FilePattern {
    pattern: &'static str,
}

impl fmt::Debug for FilePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FilePattern({:?})", self.pattern)
    }
}

/// How the number of a pattern is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conv {
    Decimal,
    Signed,
    Hex,
}

impl FilePattern {
    /// A pattern (generated code only builds checked ones).
    #[doc(hidden)]
    pub const fn new(pattern: &'static str) -> Self {
        FilePattern { pattern }
    }

    /// The printf pattern, as in `criu/image-desc.c` plus the `.img` suffix.
    pub const fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// Whether the name holds a number (`core-%u.img`) or is fixed (`files.img`).
    pub fn has_id(&self) -> bool {
        self.split().is_some()
    }

    /// `(before, conversion, after)` of the pattern's one conversion.
    fn split(&self) -> Option<(&'static str, Conv, &'static str)> {
        let p = self.pattern;
        let at = p.find('%')?;
        let rest = &p[at + 1..];
        let rest = rest.strip_prefix('l').unwrap_or(rest);
        let conv = match rest.as_bytes().first()? {
            b'x' => Conv::Hex,
            b'd' => Conv::Signed,
            _ => Conv::Decimal,
        };
        Some((&p[..at], conv, &rest[1..]))
    }

    /// The file name for `id`: `files::CORE.name(7)` is `core-7.img`, `files::GHOST_FILE.name(31)`
    /// is `ghost-file-1f.img`. A fixed name (`files.img`) ignores `id`. A `%d` pattern prints `id`
    /// as the `i64` it holds (CRIU passes negative ids through `%d` only in patterns of this form).
    pub fn name(&self, id: u64) -> String {
        let mut s = String::with_capacity(self.pattern.len() + 16);
        self.write_name(id, &mut s);
        s
    }

    /// [`FilePattern::name`], appended to `out`.
    pub fn write_name(&self, id: u64, out: &mut String) {
        match self.split() {
            None => out.push_str(self.pattern),
            Some((before, conv, after)) => {
                out.push_str(before);
                // Writing to a String cannot fail.
                let _ = match conv {
                    Conv::Decimal => write!(out, "{id}"),
                    Conv::Signed => write!(out, "{}", id as i64),
                    Conv::Hex => write!(out, "{id:x}"),
                };
                out.push_str(after);
            }
        }
    }

    /// Whether `name` is a file name of this pattern.
    pub fn matches(&self, name: &str) -> bool {
        match self.split() {
            None => name == self.pattern,
            Some(_) => self.id(name).is_some(),
        }
    }

    /// The number in `name`, when `name` is a file name of this pattern with a number: `core-7.img`
    /// gives 7 for `files::CORE`. Leading zeros and `+` are refused (CRIU never prints them), so a
    /// name maps back to exactly one id; a `%d` number is returned as its two's-complement `u64`.
    pub fn id(&self, name: &str) -> Option<u64> {
        let (before, conv, after) = self.split()?;
        let digits = name.strip_prefix(before)?.strip_suffix(after)?;
        let (neg, digits) = match (conv, digits.strip_prefix('-')) {
            (Conv::Signed, Some(d)) => (true, d),
            _ => (false, digits),
        };
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        let v = match conv {
            Conv::Hex => {
                if !digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    return None;
                }
                u64::from_str_radix(digits, 16).ok()?
            }
            _ => {
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                digits.parse::<u64>().ok()?
            }
        };
        if neg {
            if v > 1 << 63 {
                return None;
            }
            return Some(v.wrapping_neg());
        }
        if conv == Conv::Signed && v > i64::MAX as u64 {
            return None;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let core = FilePattern::new("core-%u.img");
        assert_eq!(core.name(123), "core-123.img");
        assert_eq!(core.id("core-123.img"), Some(123));
        assert!(core.matches("core-0.img"));
        assert!(!core.matches("core-.img") && !core.matches("core-12a.img") && !core.matches("core-012.img"));
        let ghost = FilePattern::new("ghost-file-%x.img");
        assert_eq!(ghost.name(31), "ghost-file-1f.img");
        assert_eq!(ghost.id("ghost-file-1f.img"), Some(31));
        assert!(!ghost.matches("ghost-file-1F.img"));
        let shmem = FilePattern::new("pagemap-shmem-%lu.img");
        assert_eq!(shmem.name(5), "pagemap-shmem-5.img");
        assert!(!FilePattern::new("pagemap-%lu.img").matches("pagemap-shmem-5.img"));
        let fixed = FilePattern::new("files.img");
        assert!(!fixed.has_id() && fixed.matches("files.img") && fixed.name(9) == "files.img");
        let tmpfs = FilePattern::new("tmpfs-dev-%u.tar.gz");
        assert!(tmpfs.matches("tmpfs-dev-33.tar.gz"));
        let signed = FilePattern::new("x-%d.img");
        assert_eq!(signed.name(-3i64 as u64), "x--3.img");
        assert_eq!(signed.id("x--3.img"), Some(-3i64 as u64));
        assert_eq!(signed.id("x-9223372036854775808.img"), None);
    }
}
