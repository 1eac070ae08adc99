//! JSON input: any bytes given to `crit encode` give image bytes or an error naming a JSON path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = criu_image::crit::encode_json(data, &mut out);
});
