//! HTTPS for the API and the console: `[api] tls_cert` and `[api] tls_key` (PEM files) read and
//! checked once at start, served with rustls (the ring provider). Errors name the file and the
//! problem in Ferry's own words, never a line of the file: the key file's content must not reach a
//! log or a terminal, and PEM parsers' messages may quote what they read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// The certificate chain and private key the API is served with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 RSA or SEC1 EC), not encrypted.
    pub key: PathBuf,
}

/// A certificate or key file that cannot be served with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} file {}: {error}", path.display())]
    Unreadable { what: &'static str, path: PathBuf, error: String },
    #[error("TLS {what} file {}: {problem}", path.display())]
    Invalid { what: &'static str, path: PathBuf, problem: String },
}

const CERT: &str = "certificate";
const KEY: &str = "key";

impl TlsFiles {
    /// Reads both files and checks that they make a server: a certificate, a key rustls can sign
    /// with, and a key that belongs to the certificate.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let invalid = |what, path: &Path, problem: String| TlsError::Invalid {
            what,
            path: path.to_path_buf(),
            problem,
        };
        let cert_pem = read(CERT, &self.cert)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(CERT, &self.cert, pem_problem(&e)))?;
        if chain.is_empty() {
            return Err(invalid(
                CERT,
                &self.cert,
                "no certificate in it (a PEM block BEGIN CERTIFICATE)".into(),
            ));
        }
        let key_pem = read(KEY, &self.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => invalid(
                KEY,
                &self.key,
                "no private key in it (a PEM block BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC \
                 PRIVATE KEY; an encrypted key must be decrypted first)"
                    .into(),
            ),
            e => invalid(KEY, &self.key, pem_problem(&e)),
        })?;
        // ring, not aws-lc-rs: it builds with no cmake or assembler. rustls 0.23.48 deprecates it
        // for want of post-quantum key exchange; the classical suites it offers are still sound.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Told apart here, since rustls says only "failed to parse private key" for this.
        provider.key_provider.load_private_key(key.clone_key()).map_err(|_| {
            invalid(
                KEY,
                &self.key,
                "not a private key Ferry can use (RSA, ECDSA P-256/P-384 or Ed25519)".into(),
            )
        })?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(CERT, &self.cert, format!("no TLS version to serve: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(_) => invalid(
                    KEY,
                    &self.key,
                    format!("this key does not belong to the certificate in {}", self.cert.display()),
                ),
                // A certificate rustls cannot parse (its errors name no key material).
                e => invalid(CERT, &self.cert, format!("not a certificate Ferry can serve: {e}")),
            })?;
        // The API speaks HTTP/1.1 only, as it does in plain HTTP.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Unreadable {
        what,
        path: path.to_path_buf(),
        error: e.to_string(),
    })
}

/// What is wrong with a PEM file, without quoting it.
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => "nothing in it Ferry can use".into(),
        pem::Error::MissingSectionEnd { .. } => "not valid PEM: a block has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "not valid PEM: a BEGIN line is malformed".into(),
        pem::Error::Base64Decode(_) => "not valid PEM: a block is not base64".into(),
        pem::Error::SectionTooLarge => "not valid PEM: a block is too large".into(),
        _ => "not valid PEM".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        TlsFiles { cert: c, key: k }
    }

    #[test]
    fn bad_files_are_named_with_the_problem_and_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: dir.path().join("nope.key") };
        let e = missing.server_config().unwrap_err().to_string();
        assert!(e.starts_with("cannot read the TLS certificate file ") && e.contains("nope.pem"), "{e}");

        let e = files(dir.path(), "not pem at all", "x").server_config().unwrap_err().to_string();
        assert!(e.contains("cert.pem: no certificate in it"), "{e}");

        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
        let e = files(dir.path(), "-----BEGIN CERTIFICATE-----\nAAAA\n", secret).server_config().unwrap_err();
        assert!(e.to_string().contains("cert.pem: not valid PEM: a block has no END line"), "{e}");

        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let e = files(dir.path(), cert, secret).server_config().unwrap_err().to_string();
        assert!(e.contains("key.pem: not a private key Ferry can use"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "the key is not quoted: {e}");

        let e = files(
            dir.path(),
            cert,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .server_config()
        .unwrap_err()
        .to_string();
        assert!(e.contains("key.pem: no private key in it") && e.contains("decrypted first"), "{e}");
    }

    #[test]
    fn a_certificate_and_its_key_serve_and_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let good = files(dir.path(), &made.cert.pem(), &made.signing_key.serialize_pem());
        let config = good.server_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let wrong = files(dir.path(), &made.cert.pem(), &other.serialize_pem());
        let e = wrong.server_config().unwrap_err().to_string();
        assert!(e.contains("key.pem: this key does not belong to the certificate in "), "{e}");
        assert!(!e.contains("PRIVATE"), "{e}");
    }
}
