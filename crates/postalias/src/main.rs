//! NAME
//!   postalias, newaliases - Postfix-compatible alias database maintenance
//!
//! SYNOPSIS
//!   postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]file...
//!   newaliases [-c config_dir] [-v]
//!
//! DESCRIPTION
//!   Builds `file.lmdb` from an aliases(5) source file, or queries, lists,
//!   deletes from or adds to an alias table. Invoked under the name
//!   `newaliases` it rebuilds every table in `alias_database`. See
//!   postalias(1); the logic lives in `maps::command`.
#![forbid(unsafe_code)]

use maps::command::{main as run, Program};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let program = if name == "newaliases" {
        Program::Newaliases
    } else {
        Program::Postalias
    };
    std::process::exit(run(program, &args));
}
