//! NAME
//!   pki - the certificates of the smtp client TLS matrix
//!
//! DESCRIPTION
//!   [`Pki::new`] runs openssl(1) in a temporary directory: `ca` (root),
//!   `int` (intermediate), and for each server certificate NAME the files
//!   NAME.key, NAME.pem and NAME.chain.pem (what the server serves); see
//!   the parent module for the list.
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A self-signed certificate `name`.pem with key `name`.key, valid for
/// three days; `subj` holds the -subj (and -addext) arguments.
fn self_signed(dir: &Path, name: &str, subj: &[&str]) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let mut args = vec![
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem, "-days",
        "3",
    ];
    args.extend_from_slice(subj);
    openssl(dir, &args);
}

pub struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Pki {
    pub fn f(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A leaf `name` with subject CN `cn` and extensions `ext`, signed by
    /// `ca` (for `days`); writes name.key, name.pem and name.chain.pem
    /// (leaf then intermediate).
    fn leaf(&self, name: &str, cn: &str, ext: &str, ca: &str, days: &str) {
        let d = &self.dir;
        std::fs::write(d.join(format!("{name}.ext")), ext).unwrap();
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let subj = format!("/CN={cn}");
        openssl(
            d,
            &[
                "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr,
                "-subj", &subj,
            ],
        );
        let (cap, cak) = (format!("{ca}.pem"), format!("{ca}.key"));
        let extf = format!("{name}.ext");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &cap,
                "-CAkey",
                &cak,
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                days,
                "-extfile",
                &extf,
            ],
        );
        let chain = std::fs::read_to_string(d.join(&pem)).unwrap()
            + &std::fs::read_to_string(d.join("int.pem")).unwrap();
        std::fs::write(d.join(format!("{name}.chain.pem")), chain).unwrap();
    }

    pub fn new() -> Pki {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let d = &dir.clone();
        self_signed(d, "ca", &["-subj", "/O=Test/CN=Test Root CA"]);
        let p = Pki { _tmp: tmp, dir };
        std::fs::write(p.dir.join("int.pem"), "").unwrap();
        p.leaf(
            "int",
            "Test Intermediate CA",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n",
            "ca",
            "3",
        );
        let leaf = "basicConstraints=CA:FALSE\n";
        p.leaf(
            "valid",
            "mx.example.com",
            &format!("{leaf}subjectAltName=DNS:mx.example.com\n"),
            "int",
            "3",
        );
        p.leaf(
            "wild",
            "wild",
            &format!("{leaf}subjectAltName=DNS:*.example.com\n"),
            "int",
            "3",
        );
        p.leaf("cnonly", "mx.example.com", leaf, "int", "3");
        p.leaf(
            "sanother",
            "mx.example.com",
            &format!("{leaf}subjectAltName=DNS:other.example.com\n"),
            "int",
            "3",
        );
        p.leaf(
            "expired",
            "mx.example.com",
            &format!("{leaf}subjectAltName=DNS:mx.example.com\n"),
            "int",
            "0",
        );
        self_signed(
            d,
            "self",
            &[
                "-subj",
                "/CN=mx.example.com",
                "-addext",
                "subjectAltName=DNS:mx.example.com",
            ],
        );
        std::fs::copy(d.join("self.pem"), d.join("self.chain.pem")).unwrap();
        // Served without its intermediate.
        std::fs::copy(d.join("valid.key"), d.join("noint.key")).unwrap();
        std::fs::copy(d.join("valid.pem"), d.join("noint.chain.pem")).unwrap();
        std::fs::copy(d.join("valid.pem"), d.join("noint.pem")).unwrap();
        // Served in the wrong order: leaf, root, then the intermediate.
        std::fs::copy(d.join("valid.key"), d.join("disorder.key")).unwrap();
        let rd = |n: &str| std::fs::read_to_string(d.join(n)).unwrap();
        let disorder = rd("valid.pem") + &rd("ca.pem") + &rd("int.pem");
        std::fs::write(d.join("disorder.chain.pem"), disorder).unwrap();
        std::fs::copy(d.join("valid.pem"), d.join("disorder.pem")).unwrap();
        p
    }

    /// Make `long`: a leaf for mx.example.com under a second
    /// intermediate (`int2`, signed by `int`), served as leaf, int2, int
    /// (`long.chain.pem`): one certificate deeper than `valid`.
    pub fn long_chain(&self) {
        let ca = "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n";
        self.leaf("int2", "Test Intermediate CA 2", ca, "int", "3");
        let ext = "basicConstraints=CA:FALSE\nsubjectAltName=DNS:mx.example.com\n";
        self.leaf("long", "mx.example.com", ext, "int2", "3");
        let rd = |n: &str| std::fs::read_to_string(self.dir.join(n)).unwrap();
        let chain = rd("long.pem") + &rd("int2.pem") + &rd("int.pem");
        std::fs::write(self.dir.join("long.chain.pem"), chain).unwrap();
    }

    pub fn fingerprint(&self, name: &str) -> String {
        let out = Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-in",
                &self.f(&format!("{name}.pem")),
            ])
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&out.stdout).to_string();
        t.trim().rsplit('=').next().unwrap().to_string()
    }
}
