//! NAME
//!   postconf - show and edit the Postern configuration
//!
//! DESCRIPTION
//!   The program entry: sets up `postconf: severity: text` messages on
//!   standard error, runs [`postconf::run`] with the command line, and
//!   turns a fatal result into `postconf: fatal: ...` and exit status 1.
//!   See postconf(1).
#![forbid(unsafe_code)]

use postconf::Stop;

fn main() {
    util::msg::init("postfix/postconf", "");
    util::msg::log_to_stderr(true);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = postconf::run(&args, &mut out);
    let flushed = std::io::Write::flush(&mut out);
    match result {
        Ok(()) => {
            if let Err(e) = flushed {
                util::msg_fatal!("write error: {}", postconf::strerror(&e));
            }
        }
        Err(Stop::Fatal(m)) => util::msg_fatal!("{m}"),
        Err(Stop::Usage(m)) => {
            eprintln!("postconf: {m}");
            util::msg_fatal!("{}", postconf::options::usage("postconf"));
        }
    }
}
