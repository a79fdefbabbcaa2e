//! NAME
//!   bounce - the bounce service (work in progress)
#![forbid(unsafe_code)]
fn main() {}
