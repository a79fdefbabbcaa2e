//! NAME
//!   queue_file - fuzz the queue file parser
//!
//! DESCRIPTION
//!   Treats arbitrary bytes as a queue file image: parses the envelope
//!   (`queue::parse::parse_envelope`) and, when that succeeds, reads the
//!   content. Either may fail; neither may panic, hang or allocate more
//!   than the input's size. Run with `cargo +nightly fuzz run queue_file`
//!   from this directory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use queue::parse::{parse_envelope, ContentReader};
use std::io::{Cursor, Read};

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    if let Ok((_env, layout)) = parse_envelope(&mut c, data.len() as u64) {
        if let Ok(mut r) = ContentReader::new(c, &layout.size) {
            let mut out = Vec::new();
            let _ = r.read_to_end(&mut out);
            assert!(out.len() <= data.len() * 2 + 1);
        }
    }
});
