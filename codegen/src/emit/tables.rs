//! Flag and dict tables as statics, named after their TOML keys (`mmap.prot` → `MMAP_PROT`, dict
//! `sk` field `family` → `DICT_SK_FAMILY`). A flag table's entries are its newtype's `TABLE`
//! (`flags.rs`): one copy of the data. Each table also has the integer format of the fields that
//! name it (`FMT_MMAP_PROT`, `FMT_DICT_SK_FAMILY`), shared by their JSON writers and readers; a
//! flag table's format carries the newtype's `table_bits`, the reader's reverse of the table.

use proc_macro2::TokenStream;
use quote::quote;

use super::{dict_table_ident, flag_table_ident};
use crate::model::*;

pub fn emit(model: &Model) -> TokenStream {
    let flags = model.flag_tables.iter().map(|t| {
        let id = flag_table_ident(&t.name);
        let ty = quote::format_ident!("{}", t.type_name);
        let doc = format!("`{}`: {} (the entries of [`crate::flags::{}`]).", t.name, t.source, t.type_name);
        let fmt = quote::format_ident!("FMT_{}", id);
        let fmt_doc = format!("The format of a field with `(criu).flags = \"{}\"`.", t.name);
        quote! {
            #[doc = #doc]
            pub static #id: &crate::support::json::FlagTable = crate::schema::flags::#ty::TABLE;
            #[doc = #fmt_doc]
            pub static #fmt: crate::support::fields::IntFmt = crate::support::fields::IntFmt {
                flags: Some(&crate::support::flags::FlagSpec { table: crate::schema::flags::#ty::TABLE, bits_of_name: crate::schema::flags::#ty::table_bits }),
                ..crate::support::fields::fmt::PLAIN
            };
        }
    });
    let dicts = model.dict_tables.iter().map(|t| {
        let id = dict_table_ident(&t.dict, &t.field);
        let doc = format!("dict `{}`, field `{}`: {}", t.dict, t.field, t.source);
        let entries = t.entries.iter().map(|(v, n)| {
            let v = proc_macro2::Literal::u64_unsuffixed(*v);
            quote!((#v, #n))
        });
        let fmt = quote::format_ident!("FMT_{}", id);
        let fmt_doc = format!("The format of field `{}` with `(criu).dict = \"{}\"`.", t.field, t.dict);
        quote! {
            #[doc = #doc]
            pub static #id: &crate::support::json::DictTable = &[ #( #entries ),* ];
            #[doc = #fmt_doc]
            pub static #fmt: crate::support::fields::IntFmt = crate::support::fields::IntFmt { dict: Some(#id), ..crate::support::fields::fmt::PLAIN };
        }
    });
    quote! { #( #flags )* #( #dicts )* }
}
