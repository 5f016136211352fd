//! `Resource::from_xml` on arbitrary bytes; what parses must survive a JSON round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ucwa::Resource;

fuzz_target!(|data: &[u8]| {
    if let Ok(resource) = Resource::from_xml(data) {
        ucwa_fuzz::assert_json_round_trip(&resource);
    }
});
