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

#[test]
fn an_unknown_flag_table_is_an_error() {
    let tmp = std::env::temp_dir().join(format!("codegen-golden-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    for f in std::fs::read_dir(&input).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(tmp.join("flags.toml"), "").unwrap();
    let err = criu_image_codegen::generate(&tmp).unwrap_err();
    assert!(err.to_string().contains("flag table `mmap.prot` is not in flags.toml"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
