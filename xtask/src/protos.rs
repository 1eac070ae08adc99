//! `cargo xtask sync-protos CRIU_SRC`: copies CRIU's schema (`images/*.proto` and
//! `images/LICENSE`) from a CRIU source tree into `proto/`, verbatim. Together with
//! `cargo xtask regen` that is the whole of a CRIU schema update.

use std::path::Path;

use anyhow::{Context, bail};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let [src] = args else { bail!("usage: cargo xtask sync-protos <CRIU source dir>") };
    let images = Path::new(src).join("images");
    if !images.join("LICENSE").is_file() {
        bail!("{} has no images/LICENSE: is it a CRIU source tree? (`cargo xtask criu` unpacks one under target/criu/src/)", src);
    }
    let dest = crate::project_root().join("proto");
    let mut names: Vec<_> = std::fs::read_dir(&images)
        .with_context(|| images.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .collect();
    names.sort();
    // Remove protos CRIU dropped, keep our TOML and README.
    for old in std::fs::read_dir(&dest)?.filter_map(|e| e.ok().map(|e| e.path())) {
        if old.extension().is_some_and(|e| e == "proto") && !images.join(old.file_name().unwrap()).exists() {
            std::fs::remove_file(&old)?;
            println!("removed {}", old.display());
        }
    }
    for p in &names {
        std::fs::copy(p, dest.join(p.file_name().unwrap())).with_context(|| p.display().to_string())?;
    }
    std::fs::copy(images.join("LICENSE"), dest.join("LICENSE"))?;
    println!("copied {} .proto files and LICENSE into proto/; now run `cargo xtask regen` and record the version in proto/README.md", names.len());
    Ok(())
}
