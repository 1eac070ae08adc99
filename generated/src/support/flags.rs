//! Flag tables and the one algorithm that names the bits of a value, shared by the JSON writer
//! (crit's `"A | B | 0x10"`), the generated bit-flag newtypes' `names()`, `Display` and `Debug`,
//! and the JSON reader's inverse.

use std::fmt;

/// A flag table from `proto/flags.toml`: names in output order with their bit values.
pub type FlagTable = [(&'static str, u64)];

/// A flag table and its reverse, what a `(criu).flags` field's pretty form is made of: the JSON
/// writer names bits with `table`, the reader turns each name back into bits with `bits_of_name`
/// (the generated newtype's `table_bits`, a `match` where a scan of `table` would compare against
/// most of its names).
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    /// The names in output order.
    pub table: &'static FlagTable,
    /// The bits of one name of `table` (with a name listed twice, its last entry's), `None` for
    /// any other text.
    pub bits_of_name: fn(&[u8]) -> Option<u64>,
}

/// One part of a flag value's description: a table entry's name, or the bits no entry named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagName {
    /// A table entry whose bits are set (its C name, as in `proto/flags.toml`).
    Name(&'static str),
    /// The bits left over after every entry was looked at (always the last item).
    Bits(u64),
}

impl fmt::Display for FlagName {
    /// The name, or the leftover bits as `0x%x` (crit's form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagName::Name(n) => f.write_str(n),
            FlagName::Bits(b) => write!(f, "{b:#x}"),
        }
    }
}

/// The names of the bits set in a value, crit's way: for each `(name, bits)` of the table in
/// order, when `value & bits != 0` the name is yielded and those bits are cleared; what is left at
/// the end is yielded as [`FlagName::Bits`]. A zero value yields nothing, and so do entries whose
/// bits are zero (`VMA_AREA_NONE`).
#[derive(Clone, Debug)]
pub struct FlagNames {
    rest: u64,
    table: &'static FlagTable,
    next: usize,
}

impl FlagNames {
    /// The names of `value`'s bits in `table`.
    pub fn new(value: u64, table: &'static FlagTable) -> Self {
        FlagNames { rest: value, table, next: 0 }
    }
}

impl Iterator for FlagNames {
    type Item = FlagName;
    fn next(&mut self) -> Option<FlagName> {
        // Once every bit is named no later entry can be (entries without bits never are), so
        // the rest of the table is not walked.
        while self.rest != 0
            && let Some(&(name, bits)) = self.table.get(self.next)
        {
            self.next += 1;
            if self.rest & bits != 0 {
                self.rest &= !bits;
                return Some(FlagName::Name(name));
            }
        }
        if self.rest != 0 {
            let b = self.rest;
            self.rest = 0;
            return Some(FlagName::Bits(b));
        }
        None
    }
}

/// Writes `names` joined by `" | "`: crit's rendering of a flags field (`""` for zero).
pub fn write_names(names: FlagNames, out: &mut dyn fmt::Write) -> fmt::Result {
    for (i, n) in names.enumerate() {
        if i > 0 {
            out.write_str(" | ")?;
        }
        match n {
            FlagName::Name(s) => out.write_str(s)?,
            FlagName::Bits(b) => write!(out, "{b:#x}")?,
        }
    }
    Ok(())
}

/// `Debug` of a generated flag newtype: `VmaStatus(VMA_AREA_REGULAR | VMA_FILE_PRIVATE)`, naming
/// the `also_valid` bits too (`all` is the table followed by them), `VmaStatus(0)` for zero.
pub fn debug_flags(f: &mut fmt::Formatter<'_>, type_name: &str, value: u64, all: &'static FlagTable) -> fmt::Result {
    f.write_str(type_name)?;
    f.write_str("(")?;
    if value == 0 {
        f.write_str("0")?;
    } else {
        write_names(FlagNames::new(value, all), f)?;
    }
    f.write_str(")")
}

/// The methods, formatting and operators every generated flag newtype shares (the type, its
/// `TABLE`, `ALL` and `VALID` come from `proto/flags.toml` through codegen): one definition
/// here instead of a hundred generated lines per type.
macro_rules! flag_newtype {
    ($name:ident, $tname:literal) => {
        impl $name {
            /// The raw bits.
            #[inline]
            pub const fn bits(self) -> u32 {
                self.0
            }
            /// Whether no bit is set.
            #[inline]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
            /// Whether every bit of `other` is set.
            #[inline]
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
            /// Whether any bit of `other` is set.
            #[inline]
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }
            /// The bits neither named nor listed as valid.
            #[inline]
            pub const fn unknown_bits(self) -> u32 {
                self.0 & !Self::VALID.0
            }
            /// The names of the set bits in table order (the TOML's C names), then the bits the
            /// table does not name: what `Display` joins with `" | "`.
            pub fn names(self) -> $crate::support::flags::FlagNames {
                $crate::support::flags::FlagNames::new(u64::from(self.0), Self::TABLE)
            }
        }

        impl std::fmt::Display for $name {
            /// crit's rendering: `PROT_READ | PROT_WRITE`, leftover bits as `0x10`, zero as `""`.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $crate::support::flags::write_names(self.names(), f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $crate::support::flags::debug_flags(f, $tname, u64::from(self.0), Self::ALL)
            }
        }

        impl From<u32> for $name {
            fn from(bits: u32) -> Self {
                Self(bits)
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                v.0
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl std::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }

        impl std::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl std::ops::BitAndAssign for $name {
            fn bitand_assign(&mut self, rhs: Self) {
                self.0 &= rhs.0;
            }
        }

        impl std::ops::Not for $name {
            type Output = Self;
            fn not(self) -> Self {
                Self(!self.0)
            }
        }
    };
}
pub(crate) use flag_newtype;

#[cfg(test)]
mod tests {
    use super::*;

    static T: &FlagTable = &[("NONE", 0), ("A", 1), ("BC", 6), ("D", 8)];

    #[test]
    fn names_in_table_order_then_leftover_bits() {
        let names: Vec<FlagName> = FlagNames::new(0x1 | 0x4 | 0x30, T).collect();
        assert_eq!(names, [FlagName::Name("A"), FlagName::Name("BC"), FlagName::Bits(0x30)]);
        assert_eq!(FlagNames::new(0, T).count(), 0);
        let mut s = String::new();
        write_names(FlagNames::new(0x9, T), &mut s).unwrap();
        assert_eq!(s, "A | D");
        s.clear();
        write_names(FlagNames::new(0x10, T), &mut s).unwrap();
        assert_eq!(s, "0x10");
    }
}
