//! NAME
//!   smtp - Postern SMTP/LMTP delivery client (smtp(8); also run as lmtp)
//!
//! DESCRIPTION
//!   The program serves delivery requests from qmgr(8); the program name
//!   (`smtp` or `lmtp`) chooses the protocol. See the `smtp` library.
#![forbid(unsafe_code)]

fn main() {
    smtp::run(smtp::program_name())
}
