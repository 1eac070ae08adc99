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
        use crate::support::flags::FlagTable;
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
    let lookup = name_lookup(&t.entries);
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

            /// The bits of one name of [`Self::TABLE`] as crit's JSON reader takes it (a name the
            /// table lists twice means its last entry), `None` for any other text.
            pub fn table_bits(name: &[u8]) -> Option<u64> {
                #lookup
            }
        }

        // The methods, formatting and operators every flag newtype shares.
        crate::support::flags::flag_newtype!(#name, #tname);
    }
}

/// The body of a flag newtype's `table_bits`: a `match` on the name's length, then on the bytes
/// that tell apart the names of that length, then one comparison, where a scan of the table
/// would compare against most of its names (the JSON reader looks up every flag name of every
/// pretty entry this way). crit reads flags through a dict of the table, so with a name listed
/// twice the last entry wins.
fn name_lookup(entries: &[(String, u64)]) -> TokenStream {
    let mut names: Vec<(&str, u64)> = Vec::new();
    for (n, v) in entries {
        match names.iter_mut().find(|(m, _)| m == n) {
            Some(e) => e.1 = *v,
            None => names.push((n, *v)),
        }
    }
    if names.is_empty() {
        return quote! { let _ = name; None };
    }
    let mut lens: Vec<usize> = names.iter().map(|(n, _)| n.len()).collect();
    lens.sort_unstable();
    lens.dedup();
    let arms = lens.iter().map(|&len| {
        let group: Vec<(&str, u64)> = names.iter().copied().filter(|(n, _)| n.len() == len).collect();
        let len_lit = Literal::usize_unsuffixed(len);
        let body = by_byte(&group);
        quote!(#len_lit => #body,)
    });
    quote! { match name.len() { #( #arms )* _ => None } }
}

/// The lookup among distinct names of one length: one name is compared; more are split by the byte
/// where they differ most (the last such byte, names sharing their prefixes), each part in turn.
fn by_byte(group: &[(&str, u64)]) -> TokenStream {
    if let [(n, v)] = group {
        let lit = Literal::byte_string(n.as_bytes());
        let v = Literal::u64_unsuffixed(*v);
        return quote!(if name == #lit { Some(#v) } else { None });
    }
    let distinct = |i: usize| {
        let mut at: Vec<u8> = group.iter().map(|(n, _)| n.as_bytes()[i]).collect();
        at.sort_unstable();
        at.dedup();
        at
    };
    let len = group[0].0.len();
    let at = (0..len).max_by_key(|&i| distinct(i).len()).expect("names are not empty");
    // The parts in table order.
    let mut bytes: Vec<u8> = Vec::new();
    for (n, _) in group {
        if !bytes.contains(&n.as_bytes()[at]) {
            bytes.push(n.as_bytes()[at]);
        }
    }
    let arms = bytes.into_iter().map(|b| {
        let part: Vec<(&str, u64)> = group.iter().copied().filter(|(n, _)| n.as_bytes()[at] == b).collect();
        let body = by_byte(&part);
        let b = Literal::byte_character(b);
        quote!(#b => #body,)
    });
    let at = Literal::usize_unsuffixed(at);
    quote!(match name[#at] { #( #arms )* _ => None })
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
    // How a value without a name is shown: in hex (`0x88b5`) for tables that say so.
    let unknown = if e.display_hex { "{:#06x}" } else { "{}" };
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

        crate::support::open_enum::open_enum!(#name, #tname, #unknown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(entries: &[(&str, u64)]) -> String {
        let entries: Vec<(String, u64)> = entries.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        name_lookup(&entries).to_string()
    }

    #[test]
    fn a_name_listed_twice_reads_as_its_last_entry() {
        let code = lookup(&[("MAP_A", 1), ("MAP_B", 2), ("MAP_A", 4)]);
        assert!(code.contains("Some (4)") && !code.contains("Some (1)"), "{code}");
        assert_eq!(code.matches("b\"MAP_A\"").count(), 1, "{code}");
    }

    #[test]
    fn names_of_one_length_split_on_the_last_byte_that_tells_them_apart() {
        // Bytes 5 and 8 both tell READ from EXEC; the later one is taken.
        let code = lookup(&[("PROT_READ", 1), ("PROT_EXEC", 4)]);
        assert!(code.contains("match name [8usize]") || code.contains("match name [8]"), "{code}");
        // No one byte tells the three apart: the split goes on within a part.
        let code = lookup(&[("AB", 1), ("AC", 2), ("BB", 3)]);
        assert_eq!(code.matches("match name [").count(), 2, "{code}");
        assert!(lookup(&[]).contains("None"));
    }
}
