//! The image kind table (`proto/kinds.toml`) and per-kind dispatch to the entry message's view,
//! JSON writer, JSON reader and validator.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ident;
use crate::model::*;

pub fn emit(model: &Model) -> TokenStream {
    let common = hex_lit(model.img_common);
    let service = hex_lit(model.img_service);
    let variants: Vec<_> = model.kinds.iter().map(|k| format_ident!("{}", ident::type_name(&k.name))).collect();
    let variant_docs: Vec<String> = model
        .kinds
        .iter()
        .map(|k| match k.files.first() {
            Some(f) => format!("`{}` images (`{}`, entries `{}`).", k.name, f.pattern, k.message),
            None => format!("`{}` images (entries `{}`).", k.name, k.message),
        })
        .collect();
    let payload_names: Vec<_> = model.payloads.keys().collect();
    let payload_variants: Vec<_> = payload_names.iter().map(|p| format_ident!("{}", ident::type_name(p))).collect();
    let payload_docs: Vec<_> = model.payloads.values().collect();

    let infos = model.kinds.iter().zip(&variants).map(|(k, v)| {
        let name = &k.name;
        let magic = hex_lit(k.magic);
        let head = match k.head {
            Head::None => quote!(Head::None),
            Head::Common => quote!(Head::Common),
            Head::Service => quote!(Head::Service),
        };
        let msg = model.message(&k.message).map(|m| m.proto_name.clone()).unwrap_or_default();
        let aux = match k.aux.as_ref().and_then(|a| model.message(a)) {
            Some(m) => {
                let n = &m.proto_name;
                quote!(Some(#n))
            }
            None => quote!(None),
        };
        let files = k.files.iter().map(|f| format_ident!("{}", f.const_name));
        let payload = format_ident!("{}", ident::type_name(&k.payload));
        let status = match k.status {
            Status::Written => quote!(Status::Written),
            Status::Legacy => quote!(Status::Legacy),
            Status::Service => quote!(Status::Service),
        };
        let entries = match k.entries {
            Entries::One => quote!(Entries::One),
            Entries::AtMostOne => quote!(Entries::AtMostOne),
            Entries::Many => quote!(Entries::Many),
        };
        let crit = k.crit;
        quote! {
            KindInfo { kind: Kind::#v, name: #name, magic: #magic, head: #head, message: #msg, aux: #aux,
                       files: &[ #( files::#files ),* ], payload: Payload::#payload, status: #status,
                       entries: #entries, crit_decodes: #crit }
        }
    });
    let file_consts = model.kinds.iter().map(|k| (&k.files, format!("`{}` images", k.name))).chain(model.raw_kinds.iter().map(|r| (&r.files, format!("raw `{}` images", r.name)))).flat_map(|(files, what)| {
        files.iter().map(move |f| {
            let c = format_ident!("{}", f.const_name);
            let p = &f.pattern;
            let doc = format!("`{p}`: {what}.");
            quote!(#[doc = #doc] pub const #c: FilePattern = FilePattern::new(#p);)
        })
    });
    let magic_arms = {
        // Two kinds never share a magic in CRIU's table except aliases we fold into one kind.
        let mut seen = std::collections::BTreeSet::new();
        model
            .kinds
            .iter()
            .zip(&variants)
            .filter(|(k, _)| seen.insert(k.magic))
            .map(|(k, v)| {
                let m = hex_lit(k.magic);
                quote!(#m => Some(Kind::#v),)
            })
            .collect::<Vec<_>>()
    };
    let name_arms = model.kinds.iter().zip(&variants).map(|(k, v)| {
        let n = &k.name;
        quote!(#n => Some(Kind::#v),)
    });
    let msg_ident = |k: &Kind| format_ident!("{}", k.message);
    let check_arms = model.kinds.iter().zip(&variants).map(|(k, v)| {
        let m = msg_ident(k);
        quote!(Kind::#v => crate::view::#m::parse(buf).map(drop),)
    });
    let json_arms = model.kinds.iter().zip(&variants).map(|(k, v)| {
        let m = msg_ident(k);
        quote!(Kind::#v => if let Some(v) = <crate::view::#m as crate::support::wire::View>::for_writer(buf, w) { v.write_json_fields(w, false) },)
    });
    let from_json_src_arms = model.kinds.iter().zip(&variants).map(|(k, v)| {
        let m = msg_ident(k);
        quote!(Kind::#v => crate::support::json_src::read_bytes::<S, crate::owned::#m>(src, path, unknown)?,)
    });
    let validate_arms = model.kinds.iter().zip(&variants).map(|(k, v)| {
        let m = msg_ident(k);
        quote!(Kind::#v => crate::view::#m::trusted(buf).validate(path, out),)
    });
    let n_kinds = model.kinds.len();
    let raws = model.raw_kinds.iter().map(|r| {
        let n = &r.name;
        let f = r.files.iter().map(|f| format_ident!("{}", f.const_name));
        quote!(RawKind { name: #n, files: &[ #( files::#f ),* ] })
    });
    let kind_entries = kind_entry_impls(model);

    quote! {
        use crate::support::fields::{Finding, Message as _, UnknownKeys};
        use crate::support::files::FilePattern;
        use crate::support::json::JsonWriter;
        use crate::support::json_in::Value;
        use crate::support::{DecodeError, EncodeError};

        /// `IMG_COMMON_MAGIC`: the head word of every image but inventory and service images.
        pub const IMG_COMMON_MAGIC: u32 = #common;
        /// `IMG_SERVICE_MAGIC`: the head word of `stats-*` and `irmap-cache`.
        pub const IMG_SERVICE_MAGIC: u32 = #service;

        /// The word before an image's magic.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Head {
            /// None: the magic comes first (inventory images).
            None,
            /// [`IMG_COMMON_MAGIC`].
            Common,
            /// [`IMG_SERVICE_MAGIC`].
            Service,
        }

        /// What follows the entries of an image kind.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Payload {
            #( #[doc = #payload_docs] #payload_variants, )*
        }

        /// Whether CRIU still writes a kind (`status` in `proto/kinds.toml`).
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Status {
            /// Written by CRIU 4.2's dump.
            Written,
            /// Legacy: read by restore of images from older CRIU only.
            Legacy,
            /// A service image (`stats-*`, `irmap-cache`), not part of a process's state.
            Service,
        }

        /// How many entries an image of a kind holds (`entries` in `proto/kinds.toml`).
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Entries {
            /// Exactly one: CRIU writes one, and restore reads the first only.
            One,
            /// At most one: restore reads one, and an empty image means there is nothing to restore.
            AtMostOne,
            /// Any number.
            Many,
        }

        /// Every file-name pattern of `proto/kinds.toml`, named after the pattern
        /// (`pagemap-shmem-%lu.img` is `PAGEMAP_SHMEM`): `files::CORE.name(tid)` is
        /// `core-<tid>.img`, `files::PAGES.name(id)` a raw pages image's name.
        pub mod files {
            use crate::support::files::FilePattern;
            #( #file_consts )*
        }

        /// An image kind, by its magic (crit's names).
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub enum Kind {
            #( #[doc = #variant_docs] #variants, )*
        }

        /// Facts about one image kind.
        #[derive(Debug)]
        pub struct KindInfo {
            /// The kind these facts are about.
            pub kind: Kind,
            /// crit's name, printed as `"magic"` in JSON.
            pub name: &'static str,
            /// The magic word that identifies the kind.
            pub magic: u32,
            /// The word before the magic.
            pub head: Head,
            /// Schema name of the entry message.
            pub message: &'static str,
            /// Schema name of the other message a payload uses (pagemap head, ghost chunk, ipc msg).
            pub aux: Option<&'static str>,
            /// File-name patterns (printf formats of `criu/image-desc.c`); the first is the main one.
            pub files: &'static [FilePattern],
            /// What follows each entry.
            pub payload: Payload,
            /// Whether CRIU 4.2 writes it.
            pub status: Status,
            /// How many entries an image holds.
            pub entries: Entries,
            /// Whether CRIU 4.2.1's crit can decode it.
            pub crit_decodes: bool,
        }

        /// A raw image: no magic, not protobuf.
        #[derive(Debug)]
        pub struct RawKind {
            /// crit's name for it (`PAGES`).
            pub name: &'static str,
            /// Its file-name patterns.
            pub files: &'static [FilePattern],
        }

        /// Every kind, indexed by `Kind as usize`.
        pub static KINDS: [KindInfo; #n_kinds] = [ #( #infos ),* ];

        /// Raw images recognised by name.
        pub static RAW_KINDS: &[RawKind] = &[ #( #raws ),* ];

        impl Kind {
            /// The kind's facts.
            pub fn info(self) -> &'static KindInfo {
                &KINDS[self as usize]
            }
            /// crit's name of the kind (`CORE`).
            pub fn name(self) -> &'static str {
                self.info().name
            }
            /// The file name of this kind's image for `id` (a pid, a namespace or file id), from
            /// its first pattern: `Kind::Core.file_name(7)` is `core-7.img`; a kind with one
            /// fixed name ignores `id` (`files.img`). Kinds with several patterns (the shmem
            /// pagemap, shared signals, `stats-restore`) name the others in [`files`].
            pub fn file_name(self, id: u64) -> String {
                match self.info().files.first() {
                    Some(p) => p.name(id),
                    None => String::new(),
                }
            }
            /// The kind whose pattern matches a file name, with the number in it if the pattern
            /// has one: `core-7.img` gives `(Kind::Core, Some(7))`.
            pub fn from_file_name(name: &str) -> Option<(Kind, Option<u64>)> {
                KINDS.iter().find_map(|k| {
                    k.files.iter().find(|p| p.matches(name)).map(|p| (k.kind, p.id(name)))
                })
            }
            /// The kind with this magic word.
            pub fn from_magic(magic: u32) -> Option<Kind> {
                match magic {
                    #( #magic_arms )*
                    _ => None,
                }
            }
            /// The kind crit calls `name`.
            pub fn from_name(name: &str) -> Option<Kind> {
                match name {
                    #( #name_arms )*
                    _ => None,
                }
            }
            /// Checks one entry's wire shape.
            pub fn check_entry(self, buf: &[u8]) -> Result<(), DecodeError> {
                match self {
                    #( #check_arms )*
                }
            }
            /// Writes the JSON members (without braces: the image layer adds `extra`) of one entry,
            /// parsing each message once as it is written: a message that does not parse (here or
            /// nested) poisons the writer ([`JsonWriter::poisoned`]), whose output is then not the
            /// entry's, and the caller finds the error with `check_entry`.
            pub fn write_entry_json(self, buf: &[u8], w: &mut JsonWriter) {
                match self {
                    #( #json_arms )*
                }
            }
            /// Encodes one entry from crit's JSON (plain or pretty); `unknown` says what keys
            /// that are not fields become.
            pub fn entry_from_json(self, v: &Value, path: &str, unknown: UnknownKeys) -> Result<Vec<u8>, EncodeError> {
                self.entry_from_json_src(&mut crate::support::json_src::TreeSource::new(v), path, unknown)
            }
            /// [`Kind::entry_from_json`] from a source: a parsed tree, or a reader in the middle of
            /// a document, which reads the entry as it goes (see [`crate::support::json_src`]).
            pub fn entry_from_json_src<S: crate::support::json_src::JsonSource>(self, src: &mut S, path: &str, unknown: UnknownKeys) -> Result<Vec<u8>, S::Error> {
                Ok(match self {
                    #( #from_json_src_arms )*
                })
            }
            /// Whether an image of this kind holds exactly one entry.
            pub fn one_entry(self) -> bool {
                self.info().entries == Entries::One
            }
            /// Validates the values of one entry whose wire shape was already checked (by
            /// `check_entry` or the image layer's entry walk); `path` names it (e.g. `entries[3]`).
            /// Unchecked bytes are safe too, but a wire error is not reported here.
            pub fn validate_entry(self, buf: &[u8], path: &mut String, out: &mut Vec<Finding>) {
                match self {
                    #( #validate_arms )*
                }
            }
        }

        #( #kind_entries )*
    }
}

/// `KindEntry` for the view and the owned type of every message that some kind's entries (or its
/// payload rule) hold.
fn kind_entry_impls(model: &Model) -> Vec<TokenStream> {
    let mut out = Vec::new();
    for m in model.messages() {
        let of: Vec<_> = model.kinds.iter().filter(|k| k.message == m.rust_name).map(|k| format_ident!("{}", ident::type_name(&k.name))).collect();
        let aux: Vec<_> = model.kinds.iter().filter(|k| k.aux.as_deref() == Some(m.rust_name.as_str())).map(|k| format_ident!("{}", ident::type_name(&k.name))).collect();
        if of.is_empty() && aux.is_empty() {
            continue;
        }
        let name = format_ident!("{}", m.rust_name);
        out.push(quote! {
            impl crate::support::kind::KindEntry for crate::view::#name<'_> {
                const KINDS: &'static [Kind] = &[ #( Kind::#of ),* ];
                const AUX_OF: &'static [Kind] = &[ #( Kind::#aux ),* ];
            }
            impl crate::support::kind::KindEntry for crate::owned::#name {
                const KINDS: &'static [Kind] = &[ #( Kind::#of ),* ];
                const AUX_OF: &'static [Kind] = &[ #( Kind::#aux ),* ];
            }
        });
    }
    out
}

fn hex_lit(v: u32) -> proc_macro2::Literal {
    format!("0x{v:08x}").parse().expect("a hex literal")
}
