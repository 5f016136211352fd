//! `RetryAfter::parse` on arbitrary text: a number of seconds (digits only, as the header's
//! grammar has it) must read as that delay.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use ucwa::RetryAfter;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = RetryAfter::parse(&text);
    let trimmed = text.trim();
    if trimmed.bytes().all(|byte| byte.is_ascii_digit())
        && let Ok(seconds) = trimmed.parse::<u64>()
    {
        assert_eq!(
            parsed,
            Some(RetryAfter::Delay(Duration::from_secs(seconds)))
        );
    }
    if let Some(retry_after) = parsed {
        let _ = retry_after.delay();
    }
});
