//! NAME
//!   attrs - the per-recipient attributes local(8) expands and exports
//!
//! DESCRIPTION
//!   `forward_path`, `luser_relay` and `command_execution_directory` are
//!   raw parameters: not subject to main.cf `$name` expansion
//!   (postconf(5)). local(8) expands in them only these names: `$user`
//!   (login name), `$home`, `$shell`, `$recipient` (full address),
//!   `$local` (local part), `$domain`, `$extension` (without the
//!   delimiter), `$recipient_delimiter` (the delimiter actually found),
//!   `$mailbox` (the local part without extension). Any other name, and
//!   a name whose value is empty, counts as undefined and expands to
//!   nothing, so `${extension}` and `${name?text}` work as in Postfix,
//!   and a `forward_path` element that uses an undefined name is skipped
//!   ([`expand_element`]). `mailbox_command` is not expanded at all: the
//!   shell sees it as written, with the values below in its environment.
//!
//!   The same values make up a command's environment ([`environment`]).

/// The expansion attributes of one recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalAttrs {
    /// `$user`: login name.
    pub user: String,
    /// `$home`.
    pub home: String,
    /// `$shell`.
    pub shell: String,
    /// `$recipient`: the full address.
    pub recipient: String,
    /// `$local`: the local part, extension included.
    pub local: String,
    /// `$domain`.
    pub domain: String,
    /// `$extension`: without the delimiter.
    pub extension: String,
    /// `$recipient_delimiter`: the delimiter character found.
    pub delimiter: String,
    /// `$mailbox`: the local part without the extension.
    pub mailbox: String,
}

impl LocalAttrs {
    fn get(&self, name: &str) -> Option<Option<&str>> {
        let v = match name {
            "user" => &self.user,
            "home" => &self.home,
            "shell" => &self.shell,
            "recipient" => &self.recipient,
            "local" => &self.local,
            "domain" => &self.domain,
            "extension" => &self.extension,
            "recipient_delimiter" => &self.delimiter,
            "mailbox" => &self.mailbox,
            _ => return None,
        };
        Some((!v.is_empty()).then_some(v.as_str()))
    }
}

/// Expand `text` with the recipient attributes `attrs` (no main.cf
/// parameters: local(8)'s raw parameters). Returns the value and whether
/// a name used was undefined (unknown, or an empty attribute).
/// Errors: an unbalanced bracket or a nesting loop, as text.
pub fn expand_element(text: &str, attrs: &LocalAttrs) -> Result<(String, bool), String> {
    let lookup = |n: &str| attrs.get(n).flatten().map(str::to_string);
    let e = global::expand::expand(text, &lookup).map_err(|e| e.to_string())?;
    Ok((e.value, !e.undefined.is_empty()))
}

/// The environment of a command delivery (local(8) "EXTERNAL COMMAND
/// DELIVERY"): `export_environment` names taken from this process, then
/// the recipient's variables and the envelope's. Empty values are left
/// out, as Postfix does for `EXTENSION`.
pub fn environment(
    attrs: &LocalAttrs,
    export: &[String],
    sender: &str,
    orig: &str,
    extra: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for name in export {
        let (k, v) = match name.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (name.clone(), std::env::var(name).ok()),
        };
        if let Some(v) = v {
            env.push((k, v));
        }
    }
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            env.retain(|(n, _)| n != k);
            env.push((k.to_string(), v.to_string()));
        }
    };
    put("HOME", &attrs.home);
    put("LOGNAME", &attrs.user);
    put("USER", &attrs.user);
    put("SHELL", &attrs.shell);
    put("PATH", "/usr/bin:/bin");
    put("SENDER", sender);
    put("RECIPIENT", &attrs.recipient);
    put("LOCAL", &attrs.local);
    put("EXTENSION", &attrs.extension);
    put("DOMAIN", &attrs.domain);
    put("ORIGINAL_RECIPIENT", orig);
    for (k, v) in extra {
        put(k, v);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_path_elements_with_and_without_extension() {
        let mut a = LocalAttrs {
            user: "u1".into(),
            home: "/home/u1".into(),
            ..LocalAttrs::default()
        };
        let fp = "$home/.forward${recipient_delimiter}${extension}";
        assert_eq!(
            expand_element(fp, &a).unwrap(),
            ("/home/u1/.forward".into(), true)
        );
        a.extension = "foo".into();
        a.delimiter = "+".into();
        assert_eq!(
            expand_element(fp, &a).unwrap(),
            ("/home/u1/.forward+foo".into(), false)
        );
        // main.cf parameters are not expanded: $myhostname is undefined.
        assert_eq!(
            expand_element("${extension?x}$myhostname", &a).unwrap(),
            ("x".into(), true)
        );
    }

    #[test]
    fn environment_has_the_documented_names() {
        let a = LocalAttrs {
            user: "u1".into(),
            home: "/h".into(),
            recipient: "u1+x@d".into(),
            local: "u1+x".into(),
            domain: "d".into(),
            extension: "x".into(),
            ..LocalAttrs::default()
        };
        let env = environment(&a, &["LANG=C".into()], "s@e", "o@d", &[]);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("LANG"), Some("C"));
        assert_eq!(get("USER"), Some("u1"));
        assert_eq!(get("SENDER"), Some("s@e"));
        assert_eq!(get("EXTENSION"), Some("x"));
        assert_eq!(get("ORIGINAL_RECIPIENT"), Some("o@d"));
        assert_eq!(get("SHELL"), None);
    }
}
