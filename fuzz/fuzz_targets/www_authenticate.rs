//! `Challenge::parse_header` on arbitrary text; the challenges found, rendered again with every
//! value quoted, must parse back to themselves.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ucwa::Challenge;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let challenges = Challenge::parse_header(&text);
    let rendered = ucwa_fuzz::render_challenges(&challenges);
    assert_eq!(
        Challenge::parse_header(&rendered),
        challenges,
        "rendered as {rendered:?}"
    );
});
