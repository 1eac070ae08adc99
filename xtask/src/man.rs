//! `cargo xtask man [--check]`: the man pages and shell completions packagers install, written
//! into `crit/dist/` by the `crit` binary itself (`crit man`, `crit completions`: generated from
//! the clap definitions the parser uses). `--check` fails when the committed files are stale,
//! as `regen --check` does; `crit/tests/dist_files.rs` runs the same comparison in the tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The shells `crit completions` knows, and the file name each one's script is installed as.
pub const SHELLS: [(&str, &str); 5] =
    [("bash", "crit.bash"), ("zsh", "_crit"), ("fish", "crit.fish"), ("elvish", "crit.elv"), ("powershell", "_crit.ps1")];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => bail!("usage: cargo xtask man [--check]"),
    };
    let root = crate::project_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = Command::new(&cargo).args(["build", "-q", "-p", "crit"]).current_dir(&root).status().context("running cargo build -p crit")?;
    if !st.success() {
        bail!("cargo build -p crit failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let crit = target.join("debug/crit");
    let tmp = target.join("xtask-man");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("completions"))?;
    let run = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
        let out = Command::new(&crit).args(args).output().with_context(|| format!("running {}", crit.display()))?;
        if !out.status.success() {
            bail!("crit {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(out.stdout)
    };
    run(&["man", "--out", tmp.join("man").to_str().context("non-UTF-8 target dir")?])?;
    for (shell, file) in SHELLS {
        std::fs::write(tmp.join("completions").join(file), run(&["completions", shell])?)?;
    }
    let dist = root.join("crit/dist");
    let want = files(&tmp)?;
    let have = files(&dist).unwrap_or_default();
    if check {
        let stale: Vec<&String> = want.keys().chain(have.keys()).filter(|k| want.get(*k) != have.get(*k)).collect();
        if !stale.is_empty() {
            bail!("crit/dist is stale ({}): run `cargo xtask man`", stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
        }
        println!("man: crit/dist is up to date ({} files)", want.len());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(&dist);
    for (name, bytes) in &want {
        let p = dist.join(name);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, bytes)?;
    }
    println!("man: {} files in crit/dist", want.len());
    Ok(())
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for sub in ["man", "completions"] {
        for e in std::fs::read_dir(dir.join(sub)).with_context(|| format!("reading {}", dir.join(sub).display()))? {
            let p = e?.path();
            out.insert(format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p)?);
        }
    }
    Ok(out)
}
