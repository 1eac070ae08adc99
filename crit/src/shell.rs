//! `crit completions SHELL` and `crit man`: what packagers install, generated from the same clap
//! definitions the parser uses, so they cannot drift from the commands. `cargo xtask man` writes
//! both into `crit/dist/` and a test fails when the committed files are stale.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

/// Print a shell completion script
///
/// Install, for example:
///   bash  crit completions bash > /etc/bash_completion.d/crit
///   zsh   crit completions zsh > "${fpath[1]}/_crit"
///   fish  crit completions fish > ~/.config/fish/completions/crit.fish
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell
    shell: Shell,
}

/// Write the man pages: crit.1 and one per subcommand (crit-decode.1, ...)
///
/// Without --out, crit.1 goes to standard output (`crit man | man -l -`).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {
    /// Directory to write every page into
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs) -> Result<crate::Status> {
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut crate::Cli::command(), "crit", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(crate::Status::Yes)
}

/// Every man page, as (file name, roff).
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = crate::Cli::command();
    cmd.build();
    let mut pages = vec![("crit.1".to_string(), render(cmd.clone(), "crit")?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let name = format!("crit-{}", sub.get_name());
        let page = sub.clone().display_name(name.clone()).bin_name(format!("crit {}", sub.get_name()));
        pages.push((format!("{name}.1"), render(page, &name)?));
    }
    Ok(pages)
}

fn render(cmd: clap::Command, title: &str) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    clap_mangen::Man::new(cmd).title(title).render(&mut b)?;
    Ok(b)
}

pub fn man(a: ManArgs) -> Result<crate::Status> {
    let pages = pages()?;
    match &a.out {
        None => std::io::stdout().lock().write_all(&pages[0].1)?,
        Some(dir) => write_all(dir, &pages)?,
    }
    Ok(crate::Status::Yes)
}

fn write_all(dir: &Path, pages: &[(String, Vec<u8>)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, roff) in pages {
        let p = dir.join(name);
        std::fs::write(&p, roff).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
