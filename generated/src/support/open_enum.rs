//! What every generated open enum of kernel constants shares (`gen/kernel.rs`; the type, its
//! constants, `VALUES`, `name` and `from_name` come from `proto/kernel.toml` through codegen).

/// `Display` (the name, or the number formatted with `$unknown`), `Debug` (`Type::NAME` or
/// `Type(n)`) and the `From` pair with `u32`, for the open enum `$name`: one definition here
/// instead of thirty generated lines per type.
macro_rules! open_enum {
    ($name:ident, $tname:literal, $unknown:literal) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, $unknown, self.0),
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}::{}", $tname, n.to_ascii_uppercase()),
                    None => write!(f, "{}({})", $tname, self.0),
                }
            }
        }

        impl From<u32> for $name {
            fn from(v: u32) -> Self {
                Self(v)
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                v.0
            }
        }
    };
}

pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    use crate::kernel::EtherType;

    #[test]
    fn names_numbers_and_the_u32_round_trip() {
        assert_eq!(EtherType::IP.to_string(), "ip");
        assert_eq!(format!("{:?}", EtherType::IP), "EtherType::IP");
        // A value without a name: in hex for this table, as the TOML says.
        assert_eq!(EtherType(0x88b5).to_string(), "0x88b5");
        assert_eq!(format!("{:?}", EtherType(0x88b5)), "EtherType(34997)");
        assert_eq!(u32::from(EtherType::from(0x800)), 0x800);
        assert_eq!(EtherType::from(0x800), EtherType::IP);
    }
}
