//! Validators: what the schema and its `(criu)` options imply about values, beyond wire shape
//! (which `parse` already checks):
//! - enum fields hold a value the schema names (error);
//! - repeated `ipadd` fields hold 1 (IPv4) or 4 (IPv6) words (error);
//! - kernel-encoded `dev` fields fit the kernel's 32-bit `dev_t` (warning);
//! - flag fields hold only bits their table names or lists as `also_valid` (notice: CRIU stores raw
//!   kernel flags; `also_valid` holds the kernel's bits that crit prints as a hex remainder, such
//!   as `MAP_NORESERVE`);
//! - fields unknown to the schema (notice: written by a newer CRIU);
//!
//! and recursively the same inside nested messages.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::*;

pub fn emit_file(model: &Model, file: &ProtoFile) -> TokenStream {
    let messages = file.messages.iter().map(|m| emit_message(model, m));
    quote! {
        use crate::support::fields::{Finding, Severity};
        #( #messages )*
    }
}

fn emit_message(model: &Model, m: &Message) -> TokenStream {
    let name = format_ident!("{}", m.rust_name);
    let mut checks = Vec::new();
    for f in &m.fields {
        let acc = format_ident!("{}", f.rust_name);
        let seg = format!(".{}", f.name);
        let repeated = f.label == Label::Repeated;
        let body: Option<TokenStream> = match &f.ty {
            Ty::Enum(e) => {
                let et = format_ident!("{}", e);
                let ename = model.enums().find(|x| &x.rust_name == e).map(|x| x.proto_name.clone()).unwrap_or_default();
                let check = quote! {
                    if crate::schema::enums::#et(v).name().is_none() {
                        out.push(Finding::new(Severity::Error, path, format!("{} is not a value of enum {}", v, #ename)));
                    }
                };
                Some(if repeated {
                    quote!(for v in self.#acc() { #check })
                } else if f.label == Label::Required {
                    quote!({ let v = self.#acc().0; #check })
                } else {
                    quote!(if let Some(v) = self.#acc().map(|e| e.0) { #check })
                })
            }
            Ty::Scalar(_) if f.opts.ipadd && repeated => {
                Some(quote! {
                    let n = self.#acc().len();
                    if n != 0 && n != 1 && n != 4 {
                        out.push(Finding::new(Severity::Error, path, format!("an address has 1 (IPv4) or 4 (IPv6) words, not {n}")));
                    }
                })
            }
            Ty::Scalar(s) if f.opts.flags.is_some() || (f.opts.dev && !f.opts.odev) => {
                let mut parts = Vec::new();
                if let Some(t) = f.opts.flags.as_ref().and_then(|t| model.flag_table(t)) {
                    let ty = format_ident!("{}", t.type_name);
                    let tname = &t.name;
                    parts.push(quote! {
                        let extra = (v as u64) & !u64::from(crate::schema::flags::#ty::VALID.0);
                        if extra != 0 {
                            out.push(Finding::new(Severity::Notice, path, format!("bits {:#x} are not valid for table {}", extra, #tname)));
                        }
                    });
                }
                if f.opts.dev && !f.opts.odev && s.rust_type() == "u64" {
                    parts.push(quote! {
                        if (v as u64) >> 32 != 0 {
                            out.push(Finding::new(Severity::Warning, path, format!("device number {:#x} does not fit the kernel's 32-bit dev_t", v)));
                        }
                    });
                }
                if parts.is_empty() {
                    None
                } else if repeated {
                    Some(quote!(for v in self.#acc() { #( #parts )* }))
                } else if f.label == Label::Required {
                    Some(quote!({ let v = self.#acc(); #( #parts )* }))
                } else {
                    Some(quote!(if let Some(v) = self.#acc() { #( #parts )* }))
                }
            }
            Ty::Message(_) => Some(if repeated {
                quote! {
                    for (i, v) in self.#acc().iter().enumerate() {
                        let at = path.len();
                        crate::support::fields::push_index(path, i);
                        v.validate(path, out);
                        path.truncate(at);
                    }
                }
            } else if f.label == Label::Required {
                quote!(self.#acc().validate(path, out);)
            } else {
                quote!(if let Some(v) = self.#acc() { v.validate(path, out); })
            }),
            _ => None,
        };
        if let Some(body) = body {
            checks.push(quote! {
                {
                    let at = path.len();
                    path.push_str(#seg);
                    #body
                    path.truncate(at);
                }
            });
        }
    }
    quote! {
        impl<'a> crate::view::#name<'a> {
            /// Appends what is wrong with this message's values to `out`; `path` names it.
            pub fn validate(&self, path: &mut String, out: &mut Vec<Finding>) {
                #( #checks )*
                if self.has_unknown_fields() {
                    let nums: Vec<String> = crate::support::UnknownFields::collect(self.as_bytes(), Self::is_known)
                        .records.iter().map(|r| r.0.to_string()).collect();
                    out.push(Finding::new(Severity::Notice, path, format!("fields {} are unknown to this schema (written by a newer CRIU?)", nums.join(", "))));
                }
            }
        }
    }
}
