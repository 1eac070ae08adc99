//! Naming rules: schema names → Rust identifiers, in one place.

/// `pagemap_entry` → `PagemapEntry`, `CRIU_Opts` → `CriuOpts`, `thread_info_x86` → `ThreadInfoX86`,
/// nested `core_entry.march` → `CoreEntryMarch`.
pub fn type_name(proto: &str) -> String {
    let mut out = String::with_capacity(proto.len());
    for part in proto.split(['_', '.']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            // Keep camel humps that are already there (`x86`), lower an all-caps word (`CRIU`).
            let rest: String = chars.collect();
            if part.chars().all(|c| !c.is_ascii_lowercase()) {
                out.push_str(&rest.to_ascii_lowercase());
            } else {
                out.push_str(&rest);
            }
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A field name as a Rust identifier: keywords get a trailing underscore (`type` → `type_`).
pub fn field_name(proto: &str) -> String {
    let lower = proto.to_string();
    if is_keyword(&lower) { format!("{lower}_") } else { lower }
}

/// A proto file stem as a module name: `core-x86` → `core_x86`; names that shadow crates
/// (`core`, `std`) get a trailing underscore.
pub fn module_name(stem: &str) -> String {
    let m = stem.replace(['-', '.'], "_");
    if is_keyword(&m) || matches!(m.as_str(), "core" | "std" | "alloc") { format!("{m}_") } else { m }
}

/// An enum value as an associated constant: already upper-case in CRIU's schema; keep it, escaping
/// the rare lower-case or keyword value.
pub fn const_name(value: &str) -> String {
    let up = value.to_ascii_uppercase();
    if up == "SELF" { "SELF_".to_string() } else { up }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break" | "const" | "continue" | "crate" | "else" | "enum" | "extern" | "false" | "fn"
            | "for" | "if" | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub"
            | "ref" | "return" | "self" | "Self" | "static" | "struct" | "super" | "trait" | "true"
            | "type" | "unsafe" | "use" | "where" | "while" | "async" | "await" | "dyn" | "abstract"
            | "become" | "box" | "do" | "final" | "macro" | "override" | "priv" | "typeof"
            | "unsized" | "virtual" | "yield" | "try" | "gen"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("pagemap_entry"), "PagemapEntry");
        assert_eq!(type_name("CRIU_Opts"), "CriuOpts");
        assert_eq!(type_name("thread_info_x86"), "ThreadInfoX86");
        assert_eq!(type_name("core_entry.march"), "CoreEntryMarch");
        assert_eq!(type_name("user_x86_regs_entry"), "UserX86RegsEntry");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("vaddr"), "vaddr");
        assert_eq!(module_name("core-x86"), "core_x86");
        assert_eq!(module_name("core"), "core_");
    }
}
