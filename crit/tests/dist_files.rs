//! The man pages and shell completions in `crit/dist/` (what packagers install) are what this
//! `crit` generates, and they work: bash completes subcommands and options, every page documents
//! its subcommand's options.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn crit(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_crit")).args(args).output().unwrap();
    assert!(out.status.success(), "crit {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

const SHELLS: [(&str, &str); 5] = [("bash", "crit.bash"), ("zsh", "_crit"), ("fish", "crit.fish"), ("elvish", "crit.elv"), ("powershell", "_crit.ps1")];

#[test]
fn committed_files_are_what_crit_generates() {
    let dist = root().join("crit/dist");
    let stale = "crit/dist is stale: run `cargo xtask man`";
    for (shell, file) in SHELLS {
        let have = std::fs::read(dist.join("completions").join(file)).unwrap_or_default();
        assert!(have == crit(&["completions", shell]), "{stale} ({file})");
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("man-{}", std::process::id()));
    crit(&["man", "--out", tmp.to_str().unwrap()]);
    let list = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(list(&dist.join("man")), list(&tmp), "{stale}");
    for name in list(&tmp) {
        assert!(std::fs::read(tmp.join(&name)).unwrap() == std::fs::read(dist.join("man").join(&name)).unwrap(), "{stale} ({name})");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn every_subcommand_has_a_page_with_its_options() {
    let help = String::from_utf8(crit(&["--help"])).unwrap();
    let subs: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .collect();
    assert!(subs.len() >= 15 && subs.contains(&"inspect") && subs.contains(&"x"), "{subs:?}");
    for sub in subs {
        let page = String::from_utf8(std::fs::read(root().join(format!("crit/dist/man/crit-{sub}.1"))).unwrap()).unwrap();
        assert!(page.contains(&format!(".TH crit-{sub} 1")), "crit-{sub}.1");
        // Each long option of `crit SUB --help` is in the page (roff escapes its dashes).
        let sub_help = String::from_utf8(crit(&[sub, "--help"])).unwrap();
        let opts = sub_help
            .lines()
            .filter(|l| l.starts_with("  ") && l.trim_start().starts_with('-'))
            .flat_map(|l| l.split_whitespace().take(2).map(|w| w.trim_end_matches(',')).filter(|w| w.starts_with("--") && w.len() > 2).collect::<Vec<_>>());
        for opt in opts {
            let roff = format!("\\fB{}\\fR", opt.replace('-', "\\-"));
            assert!(page.contains(&roff), "crit-{sub}.1 lacks {opt}");
        }
    }
}

#[test]
fn bash_completes_subcommands_and_options() {
    let script = root().join("crit/dist/completions/crit.bash");
    let complete = |words: &str| -> Vec<String> {
        let n = words.split(' ').count() - 1;
        let cmd = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={n}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _crit crit \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash").args(["--norc", "-c", &cmd]).output().expect("bash");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
    };
    assert_eq!(complete("crit ins"), ["inspect"]);
    assert!(complete("crit inspect --se").contains(&"--section".to_string()));
    let x = complete("crit x --j");
    assert_eq!(x, ["--json"], "{x:?}");
    let shells = complete("crit completions ");
    for s in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.contains(&s.to_string()), "{shells:?}");
    }
}
