//! Any text as an SQS message body of the admin queue: an SNS envelope, an S3
//! notification or a raw admin event. Unwrapped, then decoded or rejected;
//! never a panic.
#![no_main]

use accesslake_ingest::envelope::{Body, unwrap_body};
use accesslake_model::parse_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &str| {
    match unwrap_body(body) {
        Body::Event(text) => {
            if let Err(e) = parse_line(text.as_bytes()) {
                assert!(!e.0.is_empty());
            }
        }
        Body::Files(files) => assert!(!files.is_empty()),
        Body::Nothing => {}
    }
});
