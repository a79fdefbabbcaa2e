//! NAME
//!   postmap - Postfix-compatible lookup table management
//!
//! SYNOPSIS
//!   postmap [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]file...
//!
//! DESCRIPTION
//!   Builds `file.lmdb` from a `key whitespace value` source file, or
//!   queries (`-q key`, `-q -`), lists (`-s`), deletes from (`-d key`) or
//!   adds to (`-i`, entries on standard input) a table of any supported
//!   type. See postmap(1); the logic lives in `maps::command`.
#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(maps::command::main(maps::command::Program::Postmap, &args));
}
