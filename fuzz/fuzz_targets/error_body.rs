//! `ServiceError::parse` on an arbitrary body. The first byte chooses the `Content-Type` (bit 0:
//! JSON or XML; bit 1: the plain or the UCWA-specific media type) and the status (the other
//! bits); the rest is the body.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use ucwa::{ServiceError, StatusCode};

const CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/xml",
    "application/vnd.microsoft.com.ucwa+json",
    "application/vnd.microsoft.com.ucwa+xml",
];

const STATUSES: [u16; 8] = [400, 401, 404, 409, 410, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPES[usize::from(selector & 3)]),
    );
    let status = StatusCode::from_u16(STATUSES[usize::from(selector >> 2) % STATUSES.len()])
        .expect("a valid status");
    let error = ServiceError::parse(status, &headers, Bytes::copy_from_slice(body));
    assert_eq!(error.status, status);
    match &error.raw_body {
        Some(raw) => {
            assert!(error.code.is_none());
            assert_eq!(&raw[..], body);
        }
        None => assert!(error.code.is_some() || body.is_empty()),
    }
    let _ = error.kind();
    let _ = error.to_string();
});
