//! Framing + views + JSON: any bytes, read as an image of the kind its magic names (or, with the
//! first byte choosing a file name, as a named file), must decode or give an error; whatever
//! decodes must encode again from its own JSON. The document written as the image is parsed is
//! the one written after a full check, and an image the check refuses gives its error, no output.
#![no_main]

use criu_image::crit::{self, JsonOptions};
use criu_image::image::Image;
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &["pagemap-1.img", "ghost-file-1.img", "pipes-data.img", "core-1.img", "pages-1.img"];

fuzz_target!(|data: &[u8]| {
    let (name, bytes) = match data.split_first() {
        Some((b, rest)) if (*b as usize) < NAMES.len() => (Some(NAMES[*b as usize]), rest),
        _ => (None, data),
    };
    let Ok(img) = Image::parse(bytes, name) else { return };
    let _ = crit::info(&img);
    let checked = crit::check(&img).map_err(|e| e.to_string());
    for pretty in [false, true] {
        let mut json = Vec::new();
        let once = crit::write_json(&img, &mut json, JsonOptions { pretty, nopl: false }).map_err(|e| e.to_string());
        // Parsed once as it is written, or checked first and parsed twice: the same result.
        let mut twice = Vec::new();
        let want = crit::write_json_checked_first(&img, &mut twice, JsonOptions { pretty, nopl: false }).map_err(|e| e.to_string());
        assert_eq!(once, want);
        assert_eq!(once.as_ref().err(), checked.as_ref().err());
        assert!(json == twice);
        if once.is_ok() {
            let mut back = Vec::new();
            let _ = crit::encode_json(&json, &mut back);
            let _ = crit::write_json(&img, &mut std::io::sink(), JsonOptions { pretty, nopl: true });
        }
    }
});
