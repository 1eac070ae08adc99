//! `crit`: CRIU image tool.
fn main() {}
