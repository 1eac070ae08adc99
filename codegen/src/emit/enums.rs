//! Schema enums as open newtypes (`struct FdTypes(pub i32)` with associated constants): a value the
//! schema does not name keeps its number instead of being lost, as protobuf's closed proto2 enums
//! would lose it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ident;
use crate::model::*;

pub fn emit(model: &Model) -> TokenStream {
    let enums = model.enums().map(emit_enum);
    quote! { #( #enums )* }
}

fn emit_enum(e: &Enum) -> TokenStream {
    let name = format_ident!("{}", e.rust_name);
    let doc = format!("`{}`: an open enum; values outside the schema keep their number.", e.proto_name);
    let consts = e.values.iter().map(|(n, v)| {
        let c = format_ident!("{}", ident::const_name(n));
        let doc = format!("`{n}` = {v}.");
        let v = proc_macro2::Literal::i32_unsuffixed(*v);
        quote!(#[doc = #doc] pub const #c: Self = Self(#v);)
    });
    // First name wins when two names share a number.
    let mut seen = std::collections::BTreeSet::new();
    let name_arms: Vec<_> = e
        .values
        .iter()
        .filter(|(_, v)| seen.insert(*v))
        .map(|(n, v)| {
            let v = proc_macro2::Literal::i32_unsuffixed(*v);
            quote!(#v => Some(#n),)
        })
        .collect();
    let from_arms = e.values.iter().map(|(n, v)| {
        let v = proc_macro2::Literal::i32_unsuffixed(*v);
        quote!(#n => Some(Self(#v)),)
    });
    let values = e.values.iter().map(|(n, v)| {
        let v = proc_macro2::Literal::i32_unsuffixed(*v);
        quote!((#n, #v))
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct #name(pub i32);

        impl #name {
            #( #consts )*
            /// Every named value, in declaration order.
            pub const VALUES: &'static [(&'static str, i32)] = &[ #( #values ),* ];

            /// The schema's name for this value.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    #( #name_arms )*
                    _ => None,
                }
            }

            /// The value of a schema name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    #( #from_arms )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!(#name), self.0),
                }
            }
        }
    }
}
