//! `cargo xtask regen [--check]`: renders `generated/src/gen/` from `proto/` and writes it, or
//! with `--check` fails naming every stale file (and the command that fixes it).

use std::path::Path;

use anyhow::{Context, bail};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => bail!("usage: cargo xtask regen [--check]"),
    };
    let root = crate::project_root();
    let stale = regen(&root, check)?;
    if check && !stale.is_empty() {
        bail!("generated code is stale: {}\nrun `cargo xtask regen` and commit the result", stale.join(", "));
    }
    Ok(())
}

/// Renders everything; writes changed files (or only reports them when `check`). Returns the paths
/// that were stale. Files in the output directory that generation no longer produces count as stale
/// (and are removed when writing).
pub fn regen(root: &Path, check: bool) -> anyhow::Result<Vec<String>> {
    let files = criu_image_codegen::generate(&root.join("proto")).context("generating from proto/")?;
    let out_dir = root.join("generated/src/gen");
    let mut stale = Vec::new();
    let mut expected = std::collections::BTreeSet::new();
    for (rel, contents) in &files {
        let path = out_dir.join(rel);
        expected.insert(path.clone());
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() != Some(contents.as_str()) {
            stale.push(format!("generated/src/gen/{}", rel.display()));
            if !check {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    for entry in walk(&out_dir) {
        if !expected.contains(&entry) {
            stale.push(format!("{} (no longer generated)", entry.display()));
            if !check {
                std::fs::remove_file(&entry)?;
            }
        }
    }
    if !check {
        eprintln!("regen: {} files, {} changed", files.len(), stale.len());
    }
    Ok(stale)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// Plain `cargo test` fails when someone changed the schema, the TOML facts or the generator
    /// without running `cargo xtask regen`.
    #[test]
    fn generated_code_is_fresh() {
        let stale = super::regen(&crate::project_root(), true).unwrap();
        assert!(stale.is_empty(), "stale generated files: {}\nrun `cargo xtask regen`", stale.join(", "));
    }
}
