//! NAME
//!   env - the environment of service processes
//!
//! DESCRIPTION
//!   Children get only the variables named in `import_environment`
//!   (postconf(5)): `NAME` copies master's value if it has one, and
//!   `NAME=value` sets the value. master adds `MAIL_CONFIG` (the
//!   configuration directory) and `GENERATION` (its generation,
//!   hexadecimal), see [`global::master_proto`].
use global::master_proto::{CONFIG_ENV, GENERATION_ENV};

/// The child environment from `import_environment` (split into a list),
/// the current value of each variable (`lookup`), the configuration
/// directory and the generation.
pub fn child_env(
    import: &[String],
    lookup: &dyn Fn(&str) -> Option<String>,
    config_dir: &str,
    generation: u32,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |n: &str, v: String| {
        out.retain(|(k, _)| k != n);
        out.push((n.to_string(), v));
    };
    for item in import {
        match item.split_once('=') {
            Some((n, v)) => set(n, v.to_string()),
            None => {
                if let Some(v) = lookup(item) {
                    set(item, v);
                }
            }
        }
    }
    set(CONFIG_ENV, config_dir.to_string());
    set(GENERATION_ENV, format!("{generation:x}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_sets_and_adds() {
        let import: Vec<String> = "MAIL_CONFIG MAIL_DEBUG TZ LANG=C"
            .split_whitespace()
            .map(String::from)
            .collect();
        let lookup = |n: &str| match n {
            "TZ" => Some("UTC".to_string()),
            "MAIL_CONFIG" => Some("/old".to_string()),
            "PATH" => Some("/bin".to_string()),
            _ => None,
        };
        let env = child_env(&import, &lookup, "/etc/postfix", 26);
        assert_eq!(
            env,
            vec![
                ("TZ".to_string(), "UTC".to_string()),
                ("LANG".to_string(), "C".to_string()),
                ("MAIL_CONFIG".to_string(), "/etc/postfix".to_string()),
                ("GENERATION".to_string(), "1a".to_string()),
            ]
        );
    }
}
