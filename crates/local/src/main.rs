//! NAME
//!   local - the local delivery agent (work in progress)
#![forbid(unsafe_code)]
fn main() {}
