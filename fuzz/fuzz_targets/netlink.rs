//! `ip … save` dumps (`ifaddr-N.img`, `route-N.img`, `route6-N.img`, `rule-N.img`): any bytes
//! decode or give a typed error. The first byte picks the decoder and whether the right magic
//! word is put in front (so that the fuzzer spends its time on the messages, not the magic).
#![no_main]

use criu_image::inspect::net::netlink::{self, IFADDR_DUMP_MAGIC, ROUTE_DUMP_MAGIC, RULE_DUMP_MAGIC};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    let magic = [IFADDR_DUMP_MAGIC, ROUTE_DUMP_MAGIC, RULE_DUMP_MAGIC][usize::from(k % 3)];
    let bytes = if k & 0x80 == 0 {
        let mut b = magic.to_le_bytes().to_vec();
        b.extend_from_slice(rest);
        b
    } else {
        rest.to_vec()
    };
    match k % 3 {
        0 => {
            if let Ok(v) = netlink::decode_addresses(&bytes) {
                for a in &v {
                    let _ = (a.primary().map(ToString::to_string), a.peer());
                }
            }
        }
        1 => {
            if let Ok(v) = netlink::decode_routes(&bytes) {
                for r in &v {
                    let _ = r.dst.as_ref().map(ToString::to_string);
                }
            }
        }
        _ => {
            let _ = netlink::decode_rules(&bytes);
        }
    }
});
