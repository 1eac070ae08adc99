//! `crit x DIR ps|fds|mems|rss`: explore a checkpoint directory.

use std::path::Path;

use anyhow::{Result, bail};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum What {
    Ps,
    Fds,
    Mems,
    Rss,
}

pub fn run(_dir: &Path, _what: What) -> Result<()> {
    bail!("crit x is not available yet")
}
