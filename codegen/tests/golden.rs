//! Golden tests: a small schema (`tests/golden/input/`) exercising every field shape and option,
//! generated and compared with the committed output in `tests/golden/expected/`. Run with
//! `UPDATE_GOLDEN=1` to accept a deliberate change (and review the diff).

use std::path::Path;

#[test]
fn generated_code_matches_golden_files() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let files = criu_image_codegen::generate(&here.join("input")).unwrap();
    let expected_dir = here.join("expected");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatched = Vec::new();
    for (rel, contents) in &files {
        let path = expected_dir.join(rel);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
            mismatched.push(rel.display().to_string());
        }
    }
    assert!(mismatched.is_empty(), "golden files differ: {mismatched:?}; rerun with UPDATE_GOLDEN=1 and review");
}

#[test]
fn generation_is_deterministic() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    assert_eq!(criu_image_codegen::generate(&input).unwrap(), criu_image_codegen::generate(&input).unwrap());
}

#[test]
fn options_are_merged_per_field() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    let model = criu_image_codegen::load::load(&input).unwrap();
    let m = model.messages().find(|m| m.proto_name == "sample_entry").unwrap();
    let dev = m.fields.iter().find(|f| f.name == "dev").unwrap();
    assert!(dev.opts.dev && dev.opts.odev, "two (criu) records on one field merge");
    let fields: Vec<u32> = m.fields.iter().map(|f| f.number).collect();
    assert!(fields.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(m.fields.iter().find(|f| f.name == "type").unwrap().rust_name, "type_");
    assert!(model.messages().any(|m| m.rust_name == "SampleEntry"));
    assert!(model.enums().any(|e| e.rust_name == "SampleEntryMode"));
}

/// Generates from a copy of the golden input with `file` replaced by `contents`, returning the error.
fn error_with(file: &str, edit: impl FnOnce(String) -> String) -> String {
    // Tests run in parallel: one directory per call.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!("codegen-golden-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    for f in std::fs::read_dir(&input).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    let text = std::fs::read_to_string(tmp.join(file)).unwrap();
    std::fs::write(tmp.join(file), edit(text)).unwrap();
    let err = criu_image_codegen::generate(&tmp).unwrap_err();
    std::fs::remove_dir_all(&tmp).unwrap();
    err.to_string()
}

#[test]
fn an_unknown_flag_table_is_an_error() {
    let err = error_with("flags.toml", |_| String::new());
    assert!(err.contains("flag table `mmap.prot` is not in flags.toml"), "{err}");
}

#[test]
fn an_unknown_status_letter_is_an_error() {
    let err = error_with("kinds.toml", |t| t.replace("status = \"W\"", "status = \"X\""));
    assert!(err.contains("kind SAMPLE: unknown status `X` (W, L or S)"), "{err}");
}

#[test]
fn an_unknown_entries_rule_is_an_error() {
    let err = error_with("kinds.toml", |t| t.replace("entries = \"one\"", "entries = \"two\""));
    assert!(err.contains("kind SAMPLE: unknown entries `two`"), "{err}");
}

#[test]
fn file_patterns_that_make_the_same_constant_are_an_error() {
    let err = error_with("kinds.toml", |t| t.replace("{ pattern = \"sample.img\", name = \"SAMPLE_OLD\" }", "\"sample.img\""));
    assert!(err.contains("two file patterns make the constant `SAMPLE`"), "{err}");
}

#[test]
fn a_pattern_with_two_numbers_is_an_error() {
    let err = error_with("kinds.toml", |t| t.replace("\"sample-%u.img\"", "\"sample-%u-%x.img\""));
    assert!(err.contains("more than one conversion"), "{err}");
}

#[test]
fn kernel_names_must_make_constants_and_be_unique() {
    let err = error_with("kernel.toml", |t| t.replace("[3, \"stopped\"]", "[3, \"alive\"]"));
    assert!(err.contains("repeats a name or a value"), "{err}");
    let err = error_with("kernel.toml", |t| t.replace("\"stopped\"", "\"3d\""));
    assert!(err.contains("`3d` does not make a constant name"), "{err}");
}

#[test]
fn unknown_keys_in_the_facts_are_an_error() {
    let err = error_with("flags.toml", |t| t.replace("strip =", "stripped ="));
    assert!(err.contains("unknown field `stripped`"), "{err}");
}
