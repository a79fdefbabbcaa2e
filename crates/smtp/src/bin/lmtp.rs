//! NAME
//!   lmtp - Postern LMTP delivery client (lmtp(8)): the smtp program run as lmtp
#![forbid(unsafe_code)]

fn main() {
    smtp::run("lmtp")
}
