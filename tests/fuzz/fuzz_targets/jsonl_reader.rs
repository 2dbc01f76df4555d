//! Any bytes as two JSONL files merged by the local reader, read a few bytes
//! at a time so lines and `\r\n` straddle buffer boundaries. Every line
//! becomes an event, a rejected row naming its `file:line`, or is blank.
#![no_main]

use std::io::{Cursor, Read};

use accesslake_ingest::reader::{Item, Merge};
use accesslake_model::FixedClock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) * rest.len() / 255;
    let (a, b) = rest.split_at(at);
    let lines = |s: &[u8]| if s.is_empty() { 0 } else { s.split(|&c| c == b'\n').count() };
    let total = lines(a) + lines(b);
    let capacity = 1 + usize::from(split % 7);
    let streams: Vec<(String, Box<dyn Read + Send>)> = vec![
        ("a".into(), Box::new(Cursor::new(a.to_vec()))),
        ("b".into(), Box::new(Cursor::new(b.to_vec()))),
    ];
    let clock = FixedClock(0);
    let mut merge = Merge::from_streams_chunked(streams, &clock, capacity).expect("in-memory input");
    let mut items = 0;
    while let Some(item) = merge.next().expect("in-memory input") {
        items += 1;
        if let Item::Rejected(r) = item {
            let (file, line) = r.source_ref.rsplit_once(':').expect("file:line");
            assert!(file == "a" || file == "b");
            let n: usize = line.parse().expect("a line number");
            assert!(n >= 1 && n <= total);
        }
    }
    assert!(items <= total, "{items} items from {total} lines");
    assert_eq!(merge.bytes_read(), rest.len() as u64);
});
