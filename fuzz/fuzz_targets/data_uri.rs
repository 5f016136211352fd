//! `DataUri::parse` on arbitrary text; what parses must encode back to the same content.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ucwa::DataUri;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(uri) = DataUri::parse(&text) {
        let encoded = DataUri::encode_base64(&uri.media_type, &uri.data);
        let again = DataUri::parse(&encoded).expect("an encoded data uri parses");
        assert_eq!(again.media_type, uri.media_type);
        assert_eq!(again.data, uri.data);
    }
});
