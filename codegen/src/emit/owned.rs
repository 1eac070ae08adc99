//! Owned messages: plain structs with public fields, encoding in field-number order exactly as
//! protobuf-c writes (repeated scalars unpacked, optional fields iff present), unknown fields put
//! back at their field-number position, and JSON input that accepts both crit's plain and pretty
//! forms (`support::fields` holds the value rules).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::view::int_fmt;
use crate::model::*;

pub fn emit_file(model: &Model, file: &ProtoFile) -> TokenStream {
    let messages = file.messages.iter().map(|m| emit_message(model, m));
    quote! {
        use crate::schema::tables;
        use crate::support::fields::{self, fmt};
        use crate::support::json_src;
        use crate::support::wire::{self, Scalar as _};
        use crate::support::{DecodeError, UnknownFields};
        use crate::support::fields::Message as _;
        #( #messages )*
    }
}

/// Builds an encoding expression from the codec, the field number and the value.
type Emit = fn(&TokenStream, &TokenStream, &TokenStream) -> TokenStream;

fn field_type(f: &Field) -> TokenStream {
    let base = match &f.ty {
        Ty::Scalar(s) => {
            let t = format_ident!("{}", s.rust_type());
            quote!(#t)
        }
        Ty::String | Ty::Bytes => quote!(Vec<u8>),
        Ty::Enum(e) => {
            let t = format_ident!("{}", e);
            quote!(crate::schema::enums::#t)
        }
        Ty::Message(m) => {
            let t = format_ident!("{}", m);
            quote!(crate::owned::#t)
        }
    };
    match f.label {
        Label::Required => base,
        Label::Optional => quote!(Option<#base>),
        Label::Repeated => quote!(Vec<#base>),
    }
}

fn emit_message(model: &Model, m: &Message) -> TokenStream {
    let name = format_ident!("{}", m.rust_name);
    let doc = format!("`{}`, owned.", m.proto_name);
    let proto_name = &m.proto_name;

    let mut decls = Vec::new();
    let mut lens = Vec::new();
    let mut encs = Vec::new();
    let mut json_arms = Vec::new();
    let mut required_flags = Vec::new();
    let mut required_checks = Vec::new();
    let json_keys: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();

    for f in &m.fields {
        let id = format_ident!("{}", f.rust_name);
        let ty = field_type(f);
        let fdoc = super::field_doc(model, f);
        decls.push(quote!(#[doc = #fdoc] pub #id: #ty));
        let num = proc_macro2::Literal::u32_unsuffixed(f.number);
        let fname = &f.name;

        // Encoding of one value and its length, given the value (a reference for bytes and
        // messages, the value itself for scalars and enums).
        let (enc_one, len_one): (Emit, Emit) = match &f.ty {
            Ty::Scalar(_) => (|c, n, v| quote!(wire::#c::write_field(#n, #v, out);), |c, n, v| quote!(wire::#c::field_len(#n, #v))),
            Ty::Enum(_) => (|_, n, v| quote!(wire::Enum::write_field(#n, #v.0, out);), |_, n, v| quote!(wire::Enum::field_len(#n, #v.0))),
            Ty::String | Ty::Bytes => (|_, n, v| quote!(wire::write_len_prefixed(#n, #v, out);), |_, n, v| quote!(wire::len_prefixed_len(#n, #v.len()))),
            Ty::Message(_) => (|_, n, v| quote!(fields::write_message(#n, #v, out);), |_, n, v| quote!(fields::message_len(#n, #v))),
        };
        let codec = match &f.ty {
            Ty::Scalar(s) => {
                let c = format_ident!("{}", s.codec());
                quote!(#c)
            }
            _ => quote!(Enum),
        };
        let by_ref = matches!(f.ty, Ty::String | Ty::Bytes | Ty::Message(_));
        let n = quote!(#num);
        let v = quote!(v);
        let (enc, len) = match f.label {
            Label::Required => {
                let place = if by_ref { quote!(&self.#id) } else { quote!(self.#id) };
                // `.len()` borrows by itself.
                let len_place = if matches!(f.ty, Ty::String | Ty::Bytes) { quote!(self.#id) } else { place.clone() };
                (enc_one(&codec, &n, &place), {
                    let l = len_one(&codec, &n, &len_place);
                    quote!(n += #l;)
                })
            }
            Label::Optional => {
                let (e, l) = (enc_one(&codec, &n, &v), len_one(&codec, &n, &v));
                let src = if by_ref { quote!(&self.#id) } else { quote!(self.#id) };
                (quote!(if let Some(v) = #src { #e }), quote!(if let Some(v) = #src { n += #l; }))
            }
            Label::Repeated => {
                let (e, l) = (enc_one(&codec, &n, &v), len_one(&codec, &n, &v));
                let pat = if by_ref { quote!(v) } else { quote!(&v) };
                (quote!(for #pat in &self.#id { #e }), quote!(for #pat in &self.#id { n += #l; }))
            }
        };
        lens.push(len);
        // Unknown fields numbered below this one go first.
        encs.push(quote!(self.unknown_fields.write_before(#num, &mut uc, out); #enc));

        // JSON input: a message field reads itself from the source (no tree of it is built), an
        // integer is read in place when the source can, any other field takes its value whole.
        let read = match &f.ty {
            Ty::Message(t) => {
                let t = format_ident!("{}", t);
                quote!(json_src::message::<S, crate::owned::#t>(src, path, #fname, unknown)?)
            }
            Ty::Scalar(s) if *s != Scalar::Bool => {
                let fmt = int_fmt(model, f);
                quote!(src.int(path, #fname, #fmt)?)
            }
            _ => {
                let one = json_convert(model, f, &quote!(&fields::Path::field(path, #fname)));
                quote!({ let val = &*src.value()?; #one? })
            }
        };
        let set = match f.label {
            Label::Required => {
                let flag = format_ident!("have_{}", f.name);
                required_flags.push(quote!(let mut #flag = false;));
                required_checks.push(quote!(if !#flag { return Err(fields::missing(path, #proto_name, #fname).into()); }));
                quote!({ self_.#id = #read; #flag = true; })
            }
            Label::Optional => quote!({ self_.#id = Some(#read); }),
            Label::Repeated => match &f.ty {
                Ty::Message(t) => {
                    let t = format_ident!("{}", t);
                    quote!({ self_.#id = json_src::messages::<S, crate::owned::#t>(src, path, #fname, unknown)?; })
                }
                _ if f.opts.ipadd => quote!({ let val = &*src.value()?; self_.#id = fields::json_ipadd(val, path, #fname)?; }),
                _ => {
                    let elem = json_convert(model, f, &quote!(&fields::Path::text(path)));
                    quote!({ let val = &*src.value()?; self_.#id = fields::json_array(val, path, #fname, |val, path| #elem)?; })
                }
            },
        };
        let k = proc_macro2::Literal::usize_unsuffixed(json_arms.len());
        json_arms.push(quote!(json_src::Key::Known(#k) => #set));
    }

    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct #name {
            #( #decls, )*
            /// Fields this schema does not know, kept for encode.
            pub unknown_fields: UnknownFields,
        }

        impl crate::support::fields::Message for #name {
            const NAME: &'static str = #proto_name;

            fn encoded_len(&self) -> usize {
                let mut n = 0usize;
                #( #lens )*
                n + self.unknown_fields.encoded_len()
            }

            fn encode(&self, out: &mut Vec<u8>) {
                let mut uc = 0usize;
                #( #encs )*
                self.unknown_fields.write_before(u32::MAX, &mut uc, out);
            }

            fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
                crate::view::#name::parse(buf).map(|v| v.to_msg())
            }

            fn from_json_src<S: json_src::JsonSource>(src: &mut S, path: &str, unknown: fields::UnknownKeys) -> Result<Self, S::Error> {
                const KEYS: &[&str] = &[#( #json_keys ),*];
                let mut self_ = Self::default();
                #( #required_flags )*
                if src.begin_object(path)? {
                    loop {
                        match src.key(KEYS)? {
                            #( #json_arms )*
                            json_src::Key::UnknownFields => { let val = &*src.value()?; self_.unknown_fields = fields::json_unknown(val, path)?; }
                            json_src::Key::Known(_) => unreachable!("a key index past the list"),
                            json_src::Key::Other(other) => {
                                fields::unknown_key(path, #proto_name, &other, KEYS, unknown)?;
                                src.skip()?;
                            }
                        }
                        if !src.next_member()? {
                            break;
                        }
                    }
                }
                #( #required_checks )*
                Ok(self_)
            }
        }
    }
}

/// Expression converting `val` into one value of field `f` (a `Result`), for fields that are
/// not messages; `fpath` is a `&fields::Path` naming it in errors.
fn json_convert(model: &Model, f: &Field, fpath: &TokenStream) -> TokenStream {
    match &f.ty {
        Ty::Scalar(Scalar::Bool) => quote!(fields::json_bool(val, #fpath)),
        Ty::Scalar(_) => {
            let fmt = int_fmt(model, f);
            quote!(fields::json_int(val, #fmt, #fpath))
        }
        Ty::String => quote!(fields::json_string(val, #fpath)),
        Ty::Bytes => {
            let unix = f.opts.conv.as_deref() == Some("unix_name");
            quote!(fields::json_bytes(val, #unix, #fpath))
        }
        Ty::Enum(e) => {
            let t = format_ident!("{}", e);
            quote!(fields::json_enum(val, |s| crate::schema::enums::#t::from_name(s).map(|e| e.0), #fpath).map(crate::schema::enums::#t))
        }
        Ty::Message(m) => unreachable!("message field {m}: read with json_src::message(s), not from a value"),
    }
}
