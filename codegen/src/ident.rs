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

/// A flag table entry as an associated constant: the first prefix of `strip` that matches is
/// removed (`VMA_AREA_STACK` with `["VMA_AREA_", "VMA_"]` → `STACK`), unless what remains would
/// not be an identifier (`MAP_32BIT` stays `MAP_32BIT`).
pub fn flag_const_name(name: &str, strip: &[String]) -> String {
    for p in strip {
        if let Some(rest) = name.strip_prefix(p.as_str())
            && is_const_ident(rest)
        {
            return rest.to_string();
        }
    }
    name.to_string()
}

/// A kernel enum value's name as an associated constant: `sock_diag` → `SOCK_DIAG`.
pub fn kernel_const_name(name: &str) -> String {
    let c: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if c == "SELF" { "SELF_".into() } else { c }
}

/// A file-name pattern as a constant name: `pagemap-shmem-%lu.img` → `PAGEMAP_SHMEM`,
/// `stats-dump` → `STATS_DUMP`, `tmpfs-dev-%u.tar.gz` → `TMPFS_DEV`.
pub fn file_const_name(pattern: &str) -> String {
    let base = pattern.strip_suffix(".img").or_else(|| pattern.strip_suffix(".tar.gz")).unwrap_or(pattern);
    let mut words = Vec::new();
    let mut rest = base;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('%') {
            let r = r.strip_prefix('l').unwrap_or(r);
            rest = r.get(1..).unwrap_or("");
            continue;
        }
        let end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        if end > 0 {
            words.push(rest[..end].to_ascii_uppercase());
            rest = &rest[end..];
        } else {
            rest = rest.get(1..).unwrap_or("");
        }
    }
    words.join("_")
}

/// Whether `s` can be an upper-case constant name: `[A-Z_][A-Z0-9_]*`, not only underscores.
pub fn is_const_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z' | '_'))
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && s.chars().any(|c| c != '_')
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

    #[test]
    fn constant_names() {
        let strip = ["VMA_AREA_".to_string(), "VMA_".to_string()];
        assert_eq!(flag_const_name("VMA_AREA_STACK", &strip), "STACK");
        assert_eq!(flag_const_name("VMA_ANON_SHARED", &strip), "ANON_SHARED");
        assert_eq!(flag_const_name("MAP_32BIT", &["MAP_".to_string()]), "MAP_32BIT");
        assert_eq!(flag_const_name("FASYNC", &["O_".to_string()]), "FASYNC");
        assert_eq!(kernel_const_name("sock_diag"), "SOCK_DIAG");
        assert_eq!(file_const_name("pagemap-shmem-%lu.img"), "PAGEMAP_SHMEM");
        assert_eq!(file_const_name("core-%u.img"), "CORE");
        assert_eq!(file_const_name("stats-dump"), "STATS_DUMP");
        assert_eq!(file_const_name("tmpfs-dev-%u.tar.gz"), "TMPFS_DEV");
        assert_eq!(file_const_name("route6-%u.img"), "ROUTE6");
        assert!(is_const_ident("_X1") && !is_const_ident("1X") && !is_const_ident("__") && !is_const_ident("a"));
    }
}
