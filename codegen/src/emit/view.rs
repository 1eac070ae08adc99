//! Zero-copy views and their crit-compatible JSON writers.
//!
//! Mapping rules (crit's `pb2dict`, re-derived from its output):
//! - fields in field-number order, only those present; repeated fields only when non-empty;
//! - integers exact; in pretty mode `hex` (own or inherited from an enclosing message field),
//!   then `dev`, then `flags`, then `dict` decide the form (see `support::fields::write_uint`);
//! - enums by name (an unknown value, which crit would lose, prints as its number);
//! - `string` as JSON text (non-UTF-8 bytes as `\udcXX` surrogate escapes), `bytes` as wrapped
//!   base64, or quoted-printable for `(criu).conv = "unix_name"`;
//! - repeated `ipadd` fields in pretty mode as a one-element list of the address text;
//! - fields the schema does not know (newer CRIU) as `"_unknown_fields"`: base64 of their raw
//!   bytes, so that encode can put them back. crit drops them silently.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{dict_table_ident, flag_table_ident};
use crate::model::*;

pub fn emit_file(model: &Model, file: &ProtoFile) -> TokenStream {
    let messages = file.messages.iter().map(|m| emit_message(model, m));
    quote! {
        use crate::schema::tables;
        use crate::support::fields::{self, fmt};
        use crate::support::json::JsonWriter;
        use crate::support::wire::{self, RepSlot, Repeated, RepeatedLen, Scalar as _, View as _};
        use crate::support::{DecodeError, DecodeErrorKind, UnknownFields};
        #( #messages )*
    }
}

/// The shared `IntFmt` of an integer field: how pretty mode renders it and which string forms JSON
/// input accepts. One per combination of options, not one literal per field.
pub fn int_fmt(model: &Model, f: &Field) -> TokenStream {
    let o = &f.opts;
    let flags = o.flags.as_ref().filter(|t| model.flag_table(t).is_some());
    let dict = o.dict.as_ref().filter(|d| model.dict_table(d, &f.name).is_some());
    match (o.hex, o.dev, o.odev, flags, dict) {
        (false, false, _, None, None) => quote!(&fmt::PLAIN),
        (true, false, _, None, None) => quote!(&fmt::HEX),
        (false, true, false, None, None) => quote!(&fmt::DEV),
        (false, true, true, None, None) => quote!(&fmt::ODEV),
        (false, false, _, Some(t), None) => {
            let id = quote::format_ident!("FMT_{}", flag_table_ident(t));
            quote!(&tables::#id)
        }
        (false, false, _, None, Some(d)) => {
            let id = quote::format_ident!("FMT_{}", dict_table_ident(d, &f.name));
            quote!(&tables::#id)
        }
        // Combinations no CRIU field has: spelt out.
        _ => {
            let hex = o.hex;
            let dev = match (o.dev, o.odev) {
                (false, _) => quote!(fields::Dev::None),
                (true, true) => quote!(fields::Dev::Old),
                (true, false) => quote!(fields::Dev::Kernel),
            };
            let flags = match flags {
                Some(t) => {
                    let id = flag_table_ident(t);
                    quote!(Some(crate::schema::tables::#id))
                }
                None => quote!(None),
            };
            let dict = match dict {
                Some(d) => {
                    let id = dict_table_ident(d, &f.name);
                    quote!(Some(crate::schema::tables::#id))
                }
                None => quote!(None),
            };
            quote!(&fields::IntFmt { hex: #hex, dev: #dev, flags: #flags, dict: #dict })
        }
    }
}

fn scalar_codec(s: Scalar) -> TokenStream {
    let id = format_ident!("{}", s.codec());
    quote!(wire::#id)
}

fn scalar_type(s: Scalar) -> TokenStream {
    let id = format_ident!("{}", s.rust_type());
    quote!(#id)
}

fn slot_ident(f: &Field) -> proc_macro2::Ident {
    format_ident!("f_{}", f.name)
}

/// The read of a singular scalar or enum field `f` (codec `codec`, view slot `slot`) that a
/// view's parse tries first, in number order, when its key is one byte (numbers 1 to 15).
fn ordered_read(f: &Field, codec: &TokenStream, slot: &proc_macro2::Ident) -> Option<(u32, TokenStream)> {
    let n = u8::try_from(f.number).ok().filter(|&n| n <= 15)?;
    let fname = &f.name;
    let n = proc_macro2::Literal::u8_unsuffixed(n);
    Some((f.number, quote!(#codec::next_field(buf, &mut pos, #n, &mut s.#slot, #fname)?;)))
}

/// The same for a singular string, bytes or message field (wire type LEN): `body` is the
/// general loop's arm, run with the key already taken.
fn ordered_len(f: &Field, body: TokenStream) -> Option<(u32, TokenStream)> {
    let n = u8::try_from(f.number).ok().filter(|&n| n <= 15)?;
    let key = proc_macro2::Literal::u8_unsuffixed((n << 3) | 2);
    Some((f.number, quote!(if buf.get(pos) == Some(&#key) { pos += 1; let wt = wire::LEN; #body })))
}

fn emit_message(model: &Model, m: &Message) -> TokenStream {
    let name = format_ident!("{}", m.rust_name);
    let doc = format!("View of `{}`.", m.proto_name);

    let mut slots = Vec::new();
    let mut empty = Vec::new();
    let mut arms = Vec::new();
    let mut required = Vec::new();
    let mut accessors = Vec::new();
    let mut json = Vec::new();
    let mut to_msg = Vec::new();
    let mut known = Vec::new();
    // Singular fields with one-byte keys, taken first in number order while they come in it.
    let mut ordered: Vec<(u32, TokenStream)> = Vec::new();

    for f in &m.fields {
        let slot = slot_ident(f);
        let fname = &f.name;
        // Written with `plain_key` (no escaping): protobuf field names are identifiers.
        assert!(
            fname.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{}.{fname}: a field name JSON would need to escape",
            m.proto_name
        );
        let acc = format_ident!("{}", f.rust_name);
        let num = proc_macro2::Literal::u32_unsuffixed(f.number);
        known.push(num.clone());
        let repeated = f.label == Label::Repeated;
        let first_accessor = accessors.len();

        // Slot type, parse arm, accessor, JSON and to_msg for each shape.
        match (&f.ty, repeated) {
            (Ty::Scalar(s), false) => {
                let t = scalar_type(*s);
                let c = scalar_codec(*s);
                slots.push(quote!(#slot: Option<#t>));
                empty.push(quote!(#slot: None));
                arms.push(quote!(#num => s.#slot = #c::read_field(buf, &mut pos, wt, #fname)?,));
                ordered.extend(ordered_read(f, &c, &slot));
                if f.label == Label::Required {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> #t { self.#slot.unwrap_or_default() }));
                } else {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> Option<#t> { self.#slot }));
                }
                let write = write_scalar(model, f, *s, quote!(v));
                json.push(quote!(if let Some(v) = self.#slot { w.plain_key(#fname); #write }));
            }
            (Ty::Enum(e), false) => {
                let et = format_ident!("{}", e);
                slots.push(quote!(#slot: Option<i32>));
                empty.push(quote!(#slot: None));
                arms.push(quote!(#num => s.#slot = wire::Enum::read_field(buf, &mut pos, wt, #fname)?,));
                ordered.extend(ordered_read(f, &quote!(wire::Enum), &slot));
                if f.label == Label::Required {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> crate::schema::enums::#et { crate::schema::enums::#et(self.#slot.unwrap_or_default()) }));
                } else {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> Option<crate::schema::enums::#et> { self.#slot.map(crate::schema::enums::#et) }));
                }
                json.push(quote!(if let Some(v) = self.#slot { w.plain_key(#fname); fields::write_enum(w, v, crate::schema::enums::#et(v).name()); }));
            }
            (Ty::String | Ty::Bytes, false) => {
                slots.push(quote!(#slot: Option<&'a [u8]>));
                empty.push(quote!(#slot: None));
                arms.push(quote!(#num => s.#slot = wire::bytes_field(buf, &mut pos, wt, #fname)?,));
                ordered.extend(ordered_len(f, quote!(s.#slot = wire::bytes_field(buf, &mut pos, wt, #fname)?;)));
                if f.label == Label::Required {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> &'a [u8] { self.#slot.unwrap_or_default() }));
                } else {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> Option<&'a [u8]> { self.#slot }));
                }
                if f.ty == Ty::String {
                    let acc_str = format_ident!("{}_str", f.name);
                    let doc = format!("`{fname}` as text, when present and valid UTF-8.");
                    accessors.push(quote!(#[doc = #doc] #[inline] pub fn #acc_str(&self) -> Option<&'a str> { self.#slot.and_then(|b| std::str::from_utf8(b).ok()) }));
                }
                let write = write_len_value(f, quote!(v));
                json.push(quote!(if let Some(v) = self.#slot { w.plain_key(#fname); #write }));
            }
            (Ty::Message(child), false) => {
                let ct = format_ident!("{}", child);
                slots.push(quote!(#slot: Option<&'a [u8]>));
                empty.push(quote!(#slot: None));
                // A second occurrence (protobuf merges them) is marked: a writer that checks as
                // it writes reaches only the last one.
                let read = quote!(
                    s.again |= s.#slot.is_some();
                    s.#slot = Some(crate::view::#ct::read_field(buf, &mut pos, wt, depth, deep, #fname, None)?);
                );
                arms.push(quote!(#num => { #read }));
                ordered.extend(ordered_len(f, read));
                if f.label == Label::Required {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> crate::view::#ct<'a> { crate::view::#ct::trusted(self.#slot.unwrap_or_default()) }));
                } else {
                    accessors.push(quote!(#[inline] pub fn #acc(&self) -> Option<crate::view::#ct<'a>> { self.#slot.map(crate::view::#ct::trusted) }));
                }
                let hex = f.opts.hex;
                json.push(quote!(if let Some(b) = self.#slot {
                    w.plain_key(#fname);
                    match <crate::view::#ct as wire::View>::for_writer(b, w) {
                        Some(v) => v.write_json(w, hex || #hex),
                        None => w.raw_value("null"),
                    }
                }));
            }
            (Ty::Scalar(s), true) => {
                let c = scalar_codec(*s);
                slots.push(quote!(#slot: RepSlot));
                empty.push(quote!(#slot: RepSlot { first: 0, count: 0 }));
                arms.push(quote!(#num => {
                    let n = #c::count_field(buf, &mut pos, wt, #fname)?;
                    s.#slot.add(key_at, n);
                }));
                accessors.push(quote!(#[inline] pub fn #acc(&self) -> Repeated<'a, #c> { Repeated::new(self.buf, #num, self.#slot) }));
                if f.opts.ipadd {
                    json.push(quote!(if self.#slot.count > 0 { w.plain_key(#fname); fields::write_ipadd(w, self.#acc()); }));
                } else {
                    let write = write_scalar(model, f, *s, quote!(v));
                    json.push(quote!(if self.#slot.count > 0 {
                        w.plain_key(#fname);
                        w.begin_array();
                        for v in self.#acc() { #write }
                        w.end_array();
                    }));
                }
            }
            (Ty::Enum(e), true) => {
                let et = format_ident!("{}", e);
                slots.push(quote!(#slot: RepSlot));
                empty.push(quote!(#slot: RepSlot { first: 0, count: 0 }));
                arms.push(quote!(#num => {
                    let n = wire::Enum::count_field(buf, &mut pos, wt, #fname)?;
                    s.#slot.add(key_at, n);
                }));
                accessors.push(quote!(#[inline] pub fn #acc(&self) -> Repeated<'a, wire::Enum> { Repeated::new(self.buf, #num, self.#slot) }));
                json.push(quote!(if self.#slot.count > 0 {
                    w.plain_key(#fname);
                    w.begin_array();
                    for v in self.#acc() { fields::write_enum(w, v, crate::schema::enums::#et(v).name()); }
                    w.end_array();
                }));
            }
            (Ty::String | Ty::Bytes, true) => {
                slots.push(quote!(#slot: RepSlot));
                empty.push(quote!(#slot: RepSlot { first: 0, count: 0 }));
                arms.push(quote!(#num => {
                    wire::read_bytes(buf, &mut pos, wt).map_err(|e: DecodeError| e.in_field(#fname, Some(s.#slot.count)))?;
                    s.#slot.add(key_at, 1);
                }));
                accessors.push(quote!(#[inline] pub fn #acc(&self) -> RepeatedLen<'a, &'a [u8]> { RepeatedLen::new(self.buf, #num, self.#slot, Some) }));
                let write = write_len_value(f, quote!(v));
                json.push(quote!(if self.#slot.count > 0 {
                    w.plain_key(#fname);
                    w.begin_array();
                    for v in self.#acc() { #write }
                    w.end_array();
                }));
            }
            (Ty::Message(child), true) => {
                let ct = format_ident!("{}", child);
                slots.push(quote!(#slot: RepSlot));
                empty.push(quote!(#slot: RepSlot { first: 0, count: 0 }));
                arms.push(quote!(#num => {
                    crate::view::#ct::read_field(buf, &mut pos, wt, depth, deep, #fname, Some(s.#slot.count))?;
                    s.#slot.add(key_at, 1);
                }));
                accessors.push(quote!(#[inline] pub fn #acc(&self) -> RepeatedLen<'a, crate::view::#ct<'a>> {
                    RepeatedLen::new(self.buf, #num, self.#slot, |b| Some(crate::view::#ct::trusted(b)))
                }));
                let hex = f.opts.hex;
                json.push(quote!(if self.#slot.count > 0 {
                    w.plain_key(#fname);
                    w.begin_array();
                    for b in RepeatedLen::new(self.buf, #num, self.#slot, Some) {
                        if let Some(v) = <crate::view::#ct as wire::View>::for_writer(b, w) {
                            v.write_json(w, hex || #hex);
                        }
                    }
                    w.end_array();
                }));
            }
        }

        // The field's accessor carries the schema's declaration of it.
        let fdoc = super::field_doc(model, f);
        if let Some(a) = accessors.get_mut(first_accessor) {
            *a = quote!(#[doc = #fdoc] #a);
        }
        if f.label == Label::Required {
            required.push(quote!(if s.#slot.is_none() { return Err(DecodeError::missing(buf.len(), #fname)); }));
        }
        to_msg.push(to_msg_field(f));
    }

    // protobuf-c writes fields in number order: the singular ones with one-byte keys are read
    // first in that order, each when the next byte is its key, without the general loop's key
    // decoding and dispatch. Whatever does not come so is left to the loop, which reads it as it
    // would have anyway (each step only takes the next field, as the loop would).
    ordered.sort_by_key(|(n, _)| *n);
    let ordered = ordered.into_iter().map(|(_, t)| t);
    let ordered = quote!(#( #ordered )*);
    let known_match = if known.is_empty() { quote!(false) } else { quote!(matches!(num, #( #known )|*)) };
    // Bind only what the arms use: the key's offset (repeated fields), whether to check nested
    // messages, the inherited hex of integer and message fields.
    let repeated = m.fields.iter().any(|f| f.label == Label::Repeated);
    let key_at = if repeated { quote!(let key_at = pos;) } else { quote!() };
    let deep = if m.fields.iter().any(|f| matches!(f.ty, Ty::Message(_))) { quote!(deep) } else { quote!(_deep) };
    let uses_hex = m.fields.iter().any(|f| match f.ty {
        Ty::Message(_) => true,
        Ty::Scalar(s) => s != Scalar::Bool && !(f.opts.ipadd && f.label == Label::Repeated),
        _ => false,
    });
    let hex = if uses_hex { quote!(hex) } else { quote!(_hex) };
    let single_msg = m.fields.iter().any(|f| matches!(f.ty, Ty::Message(_)) && f.label != Label::Repeated);
    let (again_slot, again_empty, again_json) = if single_msg {
        (quote!(again: bool,), quote!(again: false,), quote!(if self.again { w.poison(); }))
    } else {
        (quote!(), quote!(), quote!())
    };
    let parse_doc = format!("Checks the wire shape of a `{}` (and every message inside it) once.", m.proto_name);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy)]
        pub struct #name<'a> {
            buf: &'a [u8],
            unknown: bool,
            #again_slot
            #( #slots, )*
        }

        impl<'a> std::fmt::Debug for #name<'a> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut w = JsonWriter::new(false);
                self.write_json(&mut w, false);
                f.write_str(stringify!(#name))?;
                f.write_str(&String::from_utf8_lossy(w.buffer()))
            }
        }

        impl<'a> #name<'a> {
            #[doc = #parse_doc]
            pub fn parse(buf: &'a [u8]) -> Result<Self, DecodeError> {
                Self::parse_inner(buf, 0, true)
            }

            fn empty(buf: &'a [u8]) -> Self {
                #name { buf, unknown: false, #again_empty #( #empty, )* }
            }

            /// A view of bytes that an enclosing `parse` already checked: only this level is scanned.
            #[doc(hidden)]
            pub fn trusted(buf: &'a [u8]) -> Self {
                Self::parse_inner(buf, 0, false).unwrap_or_else(|_| Self::empty(buf))
            }

            #[doc(hidden)]
            pub fn parse_inner(buf: &'a [u8], depth: u32, #deep: bool) -> Result<Self, DecodeError> {
                if depth > wire::MAX_DEPTH {
                    return Err(DecodeError::new(0, DecodeErrorKind::TooDeep));
                }
                let mut s = Self::empty(buf);
                let mut pos = 0usize;
                #ordered
                while pos < buf.len() {
                    #key_at
                    let (num, wt) = wire::read_tag(buf, &mut pos)?;
                    match num {
                        #( #arms )*
                        _ => {
                            wire::skip(buf, &mut pos, wt)?;
                            s.unknown = true;
                        }
                    }
                }
                #( #required )*
                Ok(s)
            }

            /// The message's bytes.
            pub fn as_bytes(&self) -> &'a [u8] {
                self.buf
            }

            /// Whether the bytes hold fields this schema does not know (a newer CRIU wrote them).
            pub fn has_unknown_fields(&self) -> bool {
                self.unknown
            }

            /// Field numbers of the schema.
            pub fn is_known(num: u32) -> bool {
                #known_match
            }

            #( #accessors )*

            /// Writes this message as a JSON object in crit's layout; `hex` is inherited from an
            /// enclosing field marked `(criu).hex`.
            pub fn write_json(&self, w: &mut JsonWriter, hex: bool) {
                w.begin_object();
                self.write_json_fields(w, hex);
                w.end_object();
            }

            /// The object's members only (the image layer appends `extra`).
            pub fn write_json_fields(&self, w: &mut JsonWriter, #hex: bool) {
                #again_json
                #( #json )*
                if self.unknown {
                    w.plain_key("_unknown_fields");
                    w.base64(&UnknownFields::collect(self.buf, Self::is_known).raw());
                }
            }

            /// An owned copy, unknown fields included.
            pub fn to_msg(&self) -> crate::owned::#name {
                crate::owned::#name {
                    #( #to_msg, )*
                    unknown_fields: if self.unknown { UnknownFields::collect(self.buf, Self::is_known) } else { UnknownFields::default() },
                }
            }
        }

        impl<'a> wire::View<'a> for #name<'a> {
            #[inline]
            fn parse_at_depth(buf: &'a [u8], depth: u32) -> Result<Self, DecodeError> {
                Self::parse_inner(buf, depth, true)
            }
            #[inline]
            fn parse_level(buf: &'a [u8]) -> Result<Self, DecodeError> {
                Self::parse_inner(buf, 0, false)
            }
        }
    }
}

/// JSON of one integer or bool value `v`.
fn write_scalar(model: &Model, f: &Field, s: Scalar, v: TokenStream) -> TokenStream {
    match s {
        Scalar::Bool => quote!(w.bool(#v);),
        _ => {
            let fmt = int_fmt(model, f);
            let wide = match s.rust_type() {
                "i64" | "u64" => v,
                "i32" => quote!(i64::from(#v)),
                _ => quote!(u64::from(#v)),
            };
            if s.is_signed() {
                quote!(fields::write_int(w, #wide, #fmt, hex);)
            } else {
                quote!(fields::write_uint(w, #wide, #fmt, hex);)
            }
        }
    }
}

/// JSON of one string or bytes value `v`.
fn write_len_value(f: &Field, v: TokenStream) -> TokenStream {
    match (&f.ty, f.opts.conv.as_deref()) {
        (Ty::String, _) => quote!(w.str_bytes(#v);),
        (_, Some("unix_name")) => quote!(w.quopri(#v);),
        _ => quote!(w.base64(#v);),
    }
}

fn to_msg_field(f: &Field) -> TokenStream {
    let acc = format_ident!("{}", f.rust_name);
    let repeated = f.label == Label::Repeated;
    let required = f.label == Label::Required;
    match (&f.ty, repeated, required) {
        (Ty::Scalar(_), false, _) | (Ty::Enum(_), false, _) => quote!(#acc: self.#acc()),
        (Ty::String | Ty::Bytes, false, true) => quote!(#acc: self.#acc().to_vec()),
        (Ty::String | Ty::Bytes, false, false) => quote!(#acc: self.#acc().map(<[u8]>::to_vec)),
        (Ty::Message(_), false, true) => quote!(#acc: self.#acc().to_msg()),
        (Ty::Message(_), false, false) => quote!(#acc: self.#acc().map(|m| m.to_msg())),
        (Ty::Scalar(_), true, _) => quote!(#acc: self.#acc().to_vec()),
        (Ty::Enum(e), true, _) => {
            let et = format_ident!("{}", e);
            quote!(#acc: self.#acc().iter().map(crate::schema::enums::#et).collect())
        }
        (Ty::String | Ty::Bytes, true, _) => quote!(#acc: self.#acc().iter().map(<[u8]>::to_vec).collect()),
        (Ty::Message(_), true, _) => quote!(#acc: self.#acc().iter().map(|m| m.to_msg()).collect()),
    }
}
