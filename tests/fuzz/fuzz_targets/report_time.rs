//! Any text as a report's `--from/--to/--at`: a time or a clear error. A
//! time formats back to RFC 3339 that parses to the same instant, and names
//! a partition day.
#![no_main]

use accesslake_model::time::parse_time_arg;
use accesslake_model::{format_rfc3339, parse_rfc3339, utc_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match parse_time_arg(text) {
        Ok(t) => {
            let shown = format_rfc3339(t);
            assert_eq!(parse_rfc3339(&shown), Ok(t), "{text:?} -> {shown}");
            let _ = utc_date(t);
        }
        Err(e) => assert!(e.contains("use e.g."), "{e}"),
    }
});
