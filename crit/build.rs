//! Link options for the `crit` binary.
//!
//! `-z pack-relative-relocs` stores the binary's ~11 000 relative relocations as a DT_RELR
//! bitmap instead of 24-byte RELA records: the dynamic loader applies them in a fraction of
//! the instructions, and the 260 KiB table is no longer read (and held) at every start-up.
//! glibc 2.36 (Debian 12) and binutils 2.38 support it; the option is passed only to linkers
//! that accept it, so an older toolchain links as before.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    // Also the static build of `cargo xtask dist` (glibc `crt-static`), whose static-pie
    // start-up applies RELR as ld.so does.
    if target.ends_with("-linux-gnu") && linker_accepts("-Wl,-z,pack-relative-relocs") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether `cc` links an empty program with `flag` (without a warning about it).
fn linker_accepts(flag: &str) -> bool {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    let src = out.join("relr-probe.c");
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc)
        .arg(flag)
        .arg("-o")
        .arg(out.join("relr-probe"))
        .arg(&src)
        .output()
        .is_ok_and(|o| o.status.success() && o.stderr.is_empty())
}
