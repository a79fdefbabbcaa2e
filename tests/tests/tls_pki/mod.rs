//! NAME
//!   tls_pki - certificates made with openssl(1) for the TLS system tests
//!
//! DESCRIPTION
//!   [`Pki::new`] makes, in a temporary directory: `ca.pem`/`ca.key`
//!   (`/O=Test Org/CN=Test CA`), server certificates for mx.example.com
//!   with an RSA key (`rsa.pem`, `rsa.key`) and an ECDSA P-256 key
//!   (`ec.pem`, `ec.key`), client certificates `client` (CN
//!   client.example) and `client2` (CN other.example) signed by the CA,
//!   `selfclient` (self-signed: never verifies), a second CA without a
//!   CommonName (`nocn-ca.pem`, subject `/O=No CN Org`) and `nocnclient`
//!   signed by it; `cas.pem` holds both CAs.
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn self_signed(dir: &Path, name: &str, subj: &str) {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    run(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem,
            "-days", "2", "-subj", subj,
        ],
    );
}

fn leaf(dir: &Path, name: &str, newkey: &[&str], subj: &str, ca: &str, ext: &str) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let pem = format!("{name}.pem");
    let mut args = vec![
        "req", "-new", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subj,
    ];
    args.extend_from_slice(newkey);
    run(dir, &args);
    let ca_pem = format!("{ca}.pem");
    let ca_key = format!("{ca}.key");
    run(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    );
}

/// A directory of test certificates (removed on drop).
pub struct Pki {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Pki {
    /// Make every certificate (see the module description).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        self_signed(d, "ca", "/O=Test Org/CN=Test CA");
        self_signed(d, "nocn-ca", "/O=No CN Org");
        std::fs::write(d.join("san.ext"), "subjectAltName=DNS:mx.example.com\n").unwrap();
        std::fs::write(d.join("leaf.ext"), "basicConstraints=CA:FALSE\n").unwrap();
        let rsa = ["-newkey", "rsa:2048"];
        leaf(d, "rsa", &rsa, "/CN=mx.example.com", "ca", "san.ext");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
        leaf(d, "ec", &ec, "/CN=mx.example.com", "ca", "san.ext");
        leaf(d, "client", &rsa, "/CN=client.example", "ca", "leaf.ext");
        leaf(d, "client2", &rsa, "/CN=other.example", "ca", "leaf.ext");
        leaf(
            d,
            "nocnclient",
            &rsa,
            "/CN=nocn.example",
            "nocn-ca",
            "leaf.ext",
        );
        self_signed(d, "selfclient", "/CN=self.example");
        let cas = [
            std::fs::read_to_string(d.join("ca.pem")).unwrap(),
            std::fs::read_to_string(d.join("nocn-ca.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(d.join("cas.pem"), cas).unwrap();
        let path = d.to_path_buf();
        Pki { _dir: dir, path }
    }

    /// The path of file `name` in the directory.
    pub fn file(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }

    /// The SHA-256 fingerprint of certificate `name`.pem in `AA:BB:..` form.
    pub fn fingerprint(&self, name: &str) -> String {
        let pem = format!("{name}.pem");
        let out = run(
            &self.path,
            &["x509", "-noout", "-fingerprint", "-sha256", "-in", &pem],
        );
        out.trim()
            .split_once('=')
            .expect("fingerprint line")
            .1
            .to_string()
    }
}
