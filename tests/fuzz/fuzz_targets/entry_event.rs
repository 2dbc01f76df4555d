//! Any bytes as one Kinesis record or JSONL line: decoded or rejected with a
//! reason, never a panic; whatever decodes has the fields SPEC 2 requires.
#![no_main]

use accesslake_model::{MAX_RECORD_BYTES, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_line(data) {
        Ok(Some(ev)) => {
            assert!(data.len() <= MAX_RECORD_BYTES);
            // A decoded event names a day a partition can hold.
            let _ = accesslake_model::utc_date(ev.occurred_at());
        }
        // Blank: JSON whitespace only; anything else is accounted for.
        Ok(None) => assert!(data.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))),
        Err(e) => assert!(!e.0.is_empty(), "a rejection without a reason"),
    }
});
