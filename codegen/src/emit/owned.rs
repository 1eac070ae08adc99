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
        use crate::support::fields;
        use crate::support::json_in::Value;
        use crate::support::wire::{self, Scalar as _};
        use crate::support::{DecodeError, EncodeError, UnknownFields};
        use crate::support::fields::Message as _;
        #( #messages )*
    }
}

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
        let fdoc = format!("`{}` = {}", f.name, f.number);
        decls.push(quote!(#[doc = #fdoc] pub #id: #ty));
        let num = proc_macro2::Literal::u32_unsuffixed(f.number);
        let fname = &f.name;

        // Encoding of one value `v` (a reference for non-Copy types) and its length.
        let (enc_one, len_one): (TokenStream, TokenStream) = match &f.ty {
            Ty::Scalar(s) => {
                let c = format_ident!("{}", s.codec());
                (
                    quote!(wire::write_tag(#num, wire::#c::WIRE, out); wire::#c::write(*v, out);),
                    quote!(wire::tag_len(#num) + wire::#c::len(*v)),
                )
            }
            Ty::Enum(_) => (
                quote!(wire::write_tag(#num, wire::VARINT, out); wire::Enum::write(v.0, out);),
                quote!(wire::tag_len(#num) + wire::Enum::len(v.0)),
            ),
            Ty::String | Ty::Bytes => (quote!(wire::write_len_prefixed(#num, v, out);), quote!(wire::len_prefixed_len(#num, v.len()))),
            Ty::Message(_) => (
                quote!(wire::write_tag(#num, wire::LEN, out); wire::write_varint(v.encoded_len() as u64, out); v.encode(out);),
                quote!(wire::len_prefixed_len(#num, v.encoded_len())),
            ),
        };
        match f.label {
            Label::Required => {
                encs.push(quote!({ let v = &self.#id; #enc_one }));
                lens.push(quote!({ let v = &self.#id; n += #len_one; }));
            }
            Label::Optional => {
                encs.push(quote!(if let Some(v) = &self.#id { #enc_one }));
                lens.push(quote!(if let Some(v) = &self.#id { n += #len_one; }));
            }
            Label::Repeated => {
                encs.push(quote!(for v in &self.#id { #enc_one }));
                lens.push(quote!(for v in &self.#id { n += #len_one; }));
            }
        }
        // Unknown fields numbered below this one go first.
        let last = encs.pop().unwrap_or_default();
        encs.push(quote!(self.unknown_fields.write_before(#num, &mut uc, out); #last));

        // JSON input.
        let one = json_value(model, f);
        let set = match f.label {
            Label::Required => {
                let flag = format_ident!("have_{}", f.name);
                required_flags.push(quote!(let mut #flag = false;));
                required_checks.push(quote!(if !#flag { return Err(fields::missing(path, #proto_name, #fname)); }));
                quote!({ self_.#id = #one; #flag = true; })
            }
            Label::Optional => quote!({ self_.#id = Some(#one); }),
            Label::Repeated => {
                if f.opts.ipadd {
                    quote!({ self_.#id = fields::json_ipadd(val, path, #fname)?; })
                } else {
                    let elem = json_elem(model, f);
                    quote!({ self_.#id = fields::json_array(val, path, #fname, |val, path| Ok(#elem))?; })
                }
            }
        };
        json_arms.push(quote!(#fname => #set));
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

            fn from_json_with(v: &Value, path: &str, unknown: fields::UnknownKeys) -> Result<Self, EncodeError> {
                let members = fields::json_object(v, path)?;
                let mut self_ = Self::default();
                #( #required_flags )*
                for (key, val) in members {
                    match key.as_str() {
                        #( #json_arms )*
                        "_unknown_fields" => { self_.unknown_fields = fields::json_unknown(val, path)?; }
                        other => fields::unknown_key(path, #proto_name, other, &[#( #json_keys ),*], unknown)?,
                    }
                }
                #( #required_checks )*
                Ok(self_)
            }
        }
    }
}

/// Expression converting `val` (at `path`, field `f`) into one non-repeated value.
fn json_value(model: &Model, f: &Field) -> TokenStream {
    let fname = &f.name;
    let conv = json_convert(model, f);
    quote!({ let fpath = fields::Path::new(path, #fname, None); #conv })
}

/// Expression converting array element `val` at `path` (already the element's path text).
fn json_elem(model: &Model, f: &Field) -> TokenStream {
    let conv = json_convert(model, f);
    quote!({ let fpath = fields::Path::text(path); #conv })
}

/// Converts `val` using `fpath` for errors.
fn json_convert(model: &Model, f: &Field) -> TokenStream {
    match &f.ty {
        Ty::Scalar(Scalar::Bool) => quote!(fields::json_bool(val, &fpath)?),
        Ty::Scalar(s) => {
            let fmt = int_fmt(model, f);
            let t = format_ident!("{}", s.rust_type());
            quote!(fields::json_int::<#t>(val, #fmt, &fpath)?)
        }
        Ty::String => quote!(fields::json_string(val, &fpath)?),
        Ty::Bytes => {
            let unix = f.opts.conv.as_deref() == Some("unix_name");
            quote!(fields::json_bytes(val, #unix, &fpath)?)
        }
        Ty::Enum(e) => {
            let t = format_ident!("{}", e);
            quote!(crate::schema::enums::#t(fields::json_enum(val, |s| crate::schema::enums::#t::from_name(s).map(|e| e.0), &fpath)?))
        }
        Ty::Message(m) => {
            let t = format_ident!("{}", m);
            quote!(crate::owned::#t::from_json_with(val, &fpath.to_string(), unknown)?)
        }
    }
}
