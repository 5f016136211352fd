//! `Event::parse_batch` on arbitrary bytes, which it reads as XML when they start with `<` and
//! as JSON otherwise.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucwa::Event;
use url::Url;

static ORIGIN: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://fe1.contoso.com/").expect("a valid origin"));

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = Event::parse_batch(data, &ORIGIN) {
        if let Some(follow) = &batch.follow {
            assert!(!follow.url().as_str().is_empty());
        }
        for event in &batch.events {
            let _ = event.operation_id();
            let _ = event.event_type.as_str();
        }
    }
});
