//! NAME
//!   attr_reader - fuzz the attribute protocol reader
//!
//! DESCRIPTION
//!   Feeds arbitrary bytes to `global::attr::AttrReader` with small
//!   limits and reads lists until end-of-input or the first error; every
//!   list read is encoded again and must read back the same. Run with
//!   `cargo +nightly fuzz run attr_reader` from this directory.
#![no_main]

use global::attr::{AttrReader, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_line: 256, max_attrs: 16, max_total: 1024 };
    let mut r = AttrReader::with_limits(data, limits);
    while let Ok(Some(attrs)) = r.read() {
        let wire = attrs.encode().expect("a list that was read can be sent");
        let again = AttrReader::with_limits(&wire[..], limits).read().expect("re-read").expect("a list");
        assert_eq!(again, attrs);
        let _ = attrs.int("n");
        let _ = attrs.data("d");
        let _ = attrs.str("s");
    }
});
