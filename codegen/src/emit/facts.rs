//! Facts as types: bit-flag newtypes from `proto/flags.toml` and open enums of kernel and CRIU
//! constants from `proto/kernel.toml` and the `type`d tables of `proto/dicts.toml`.
//!
//! Mapping rules:
//! - a flag table `mmap.status` with `type = "VmaStatus"` → `pub struct VmaStatus(pub u32)`: one
//!   associated constant per entry and `also_valid` bit, named by `ident::flag_const_name`;
//!   `TABLE` (crit's entries, the JSON writer's table), `ALL` (entries then `also_valid`), `VALID`
//!   (every bit the kernel may set, what the validators accept); `contains`, `intersects`, `bits`,
//!   `names()` (`support::flags::FlagNames`), bit operators; `Display` is crit's text, `Debug` names
//!   the `also_valid` bits too;
//! - a kernel enum `task_state` with `type = "TaskState"` → `pub struct TaskState(pub u32)`: one
//!   constant per value (the name upper-cased), `name()` (the TOML's lower-case name, `None` for an
//!   unknown value), `from_name`, `VALUES`; `Display` is the name or the number.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ident;
use crate::model::*;

/// `flags.rs`: one newtype per flag table.
pub fn emit_flags(model: &Model) -> TokenStream {
    let types = model.flag_tables.iter().map(|t| emit_flag_type(t, &flag_fields(model, &t.name)));
    quote! {
        use crate::support::flags::{FlagNames, FlagTable};
        #( #types )*
    }
}

fn hex32(v: u64) -> Literal {
    format!("0x{v:x}").parse().expect("a hex literal")
}

/// The schema fields a flag table describes, for its doc: ``vma_entry.prot`, `...``.
fn flag_fields(model: &Model, table: &str) -> String {
    let fields: Vec<String> = model
        .messages()
        .flat_map(|m| m.fields.iter().filter(|f| f.opts.flags.as_deref() == Some(table)).map(move |f| format!("`{}.{}`", m.proto_name, f.name)))
        .collect();
    if fields.is_empty() { "no schema field".into() } else { fields.join(", ") }
}

fn emit_flag_type(t: &FlagTable, fields: &str) -> TokenStream {
    let name = format_ident!("{}", t.type_name);
    let doc = format!(
        "Bits of {} (`(criu).flags = \"{}\"`): {}.\n\nOpen: any `u32` is a value; bits without a name are kept.",
        fields, t.name, t.source
    );
    let consts = t.entries.iter().map(|e| (e, false)).chain(t.also_valid.iter().map(|e| (e, true))).map(|((n, v), also)| {
        let c = format_ident!("{}", ident::flag_const_name(n, &t.strip));
        let lit = hex32(*v);
        let doc = if also {
            format!("`{n}` ({v:#x}); crit has no name for it and prints it as a hex remainder.")
        } else {
            format!("`{n}` ({v:#x}).")
        };
        quote!(#[doc = #doc] pub const #c: Self = Self(#lit);)
    });
    let table = t.entries.iter().map(|(n, v)| {
        let lit = hex32(*v);
        quote!((#n, #lit))
    });
    let all = t.entries.iter().chain(&t.also_valid).map(|(n, v)| {
        let lit = hex32(*v);
        quote!((#n, #lit))
    });
    let valid = hex32(t.entries.iter().chain(&t.also_valid).fold(0, |a, (_, b)| a | b));
    let tname = &t.type_name;
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct #name(pub u32);

        impl #name {
            #( #consts )*
            /// crit's table: the named entries in output order (what JSON prints).
            pub const TABLE: &'static FlagTable = &[ #( #table ),* ];
            /// The named entries, then the bits crit has no name for.
            pub const ALL: &'static FlagTable = &[ #( #all ),* ];
            /// Every bit the table names or lists as valid.
            pub const VALID: Self = Self(#valid);

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
            pub fn names(self) -> FlagNames {
                FlagNames::new(u64::from(self.0), Self::TABLE)
            }
        }

        impl std::fmt::Display for #name {
            /// crit's rendering: `PROT_READ | PROT_WRITE`, leftover bits as `0x10`, zero as `""`.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                crate::support::flags::write_names(self.names(), f)
            }
        }

        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                crate::support::flags::debug_flags(f, #tname, u64::from(self.0), Self::ALL)
            }
        }

        impl From<u32> for #name {
            fn from(bits: u32) -> Self {
                Self(bits)
            }
        }

        impl From<#name> for u32 {
            fn from(v: #name) -> u32 {
                v.0
            }
        }

        impl std::ops::BitOr for #name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl std::ops::BitAnd for #name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }

        impl std::ops::BitOrAssign for #name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl std::ops::BitAndAssign for #name {
            fn bitand_assign(&mut self, rhs: Self) {
                self.0 &= rhs.0;
            }
        }

        impl std::ops::Not for #name {
            type Output = Self;
            fn not(self) -> Self {
                Self(!self.0)
            }
        }
    }
}

/// `kernel.rs`: one open enum per kernel table.
pub fn emit_kernel(model: &Model) -> TokenStream {
    let types = model.kernel_enums.iter().map(emit_kernel_enum);
    quote! { #( #types )* }
}

fn emit_kernel_enum(e: &KernelEnum) -> TokenStream {
    let name = format_ident!("{}", e.type_name);
    let doc = format!("{} (`{}`).\n\nOpen: a value without a name keeps its number.", e.source, e.table);
    let consts = e.values.iter().map(|(v, n)| {
        let c = format_ident!("{}", ident::kernel_const_name(n));
        let lit = if e.display_hex { hex32(*v) } else { Literal::u32_unsuffixed(*v as u32) };
        let doc = format!("`{n}` ({v}).");
        quote!(#[doc = #doc] pub const #c: Self = Self(#lit);)
    });
    let name_arms = e.values.iter().map(|(v, n)| {
        let lit = Literal::u32_unsuffixed(*v as u32);
        quote!(#lit => Some(#n),)
    });
    let from_arms = e.values.iter().map(|(v, n)| {
        let lit = Literal::u32_unsuffixed(*v as u32);
        quote!(#n => Some(Self(#lit)),)
    });
    let values = e.values.iter().map(|(v, n)| {
        let lit = Literal::u32_unsuffixed(*v as u32);
        quote!((#n, #lit))
    });
    let unknown = if e.display_hex { quote!(write!(f, "{:#06x}", self.0)) } else { quote!(write!(f, "{}", self.0)) };
    let unknown_doc = if e.display_hex { "The name, or the number in hex (`0x88b5`)." } else { "The name, or the number." };
    let tname = &e.type_name;
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct #name(pub u32);

        impl #name {
            #( #consts )*
            /// Every named value: `(name, value)` in the TOML's order.
            pub const VALUES: &'static [(&'static str, u32)] = &[ #( #values ),* ];

            /// The value's name (lower-case, as our reports print it), `None` for a value without one.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    #( #name_arms )*
                    _ => None,
                }
            }

            /// The value of a name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    #( #from_arms )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for #name {
            #[doc = #unknown_doc]
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => #unknown,
                }
            }
        }

        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}::{}", #tname, n.to_ascii_uppercase()),
                    None => write!(f, "{}({})", #tname, self.0),
                }
            }
        }

        impl From<u32> for #name {
            fn from(v: u32) -> Self {
                Self(v)
            }
        }

        impl From<#name> for u32 {
            fn from(v: #name) -> u32 {
                v.0
            }
        }
    }
}
