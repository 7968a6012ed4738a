//! Secrets at rest: a migration's cluster secret keys are written to the store encrypted when a
//! store key is given (`FERRY_STORE_KEY`, or `[store] key_file`), as
//! `"secretKey": "enc:v1:<base64 of nonce and ciphertext>"` (ChaCha20-Poly1305, a random 96-bit
//! nonce per value). Without a key they are written in plain text, as Ferry always did; plain
//! values are read with or without a key. Neither the key nor a secret is ever put in an error
//! or a log line.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};

use crate::migration::MigrationId;

/// The environment variable holding the store key: 32 bytes in base64.
pub const STORE_KEY_ENV: &str = "FERRY_STORE_KEY";

/// Where operators read about the store key.
pub const STORE_KEY_DOC: &str = "docs/seamless.md, \"State and restarts\"";

/// How an encrypted value starts; the version names the cipher and layout.
const SEALED: &str = "enc:v1:";
const NONCE_LEN: usize = 12;
/// Binds ciphertexts to their use: a value sealed for something else does not open here.
const AAD: &[u8] = b"ferry store secret v1";

/// The key secrets are encrypted with. Never shown: `Debug` is redacted.
#[derive(Clone)]
pub struct StoreKey {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

/// Where the store key came from (for the start-up log; never the key itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env => f.write_str(STORE_KEY_ENV),
            KeySource::File(path) => write!(f, "key file {}", path.display()),
        }
    }
}

/// A store key that cannot be had. Names where it was looked for, never its content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreKeyError {
    #[error(
        "{0}: not a store key: it must be 32 bytes written in base64, 44 characters (make one with \
         `head -c 32 /dev/urandom | base64`)"
    )]
    Malformed(KeySource),
    #[error("cannot read the store key file {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: String },
}

impl StoreKey {
    /// A key from its base64 text (surrounding white space ignored); `source` names it in errors.
    pub fn from_base64(text: &str, source: KeySource) -> Result<StoreKey, StoreKeyError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| StoreKeyError::Malformed(source.clone()))?;
        if bytes.len() != 32 {
            return Err(StoreKeyError::Malformed(source));
        }
        let cipher =
            ChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| StoreKeyError::Malformed(source))?;
        Ok(StoreKey { cipher })
    }

    /// The store key `ferry serve` runs with: `FERRY_STORE_KEY` if set and not empty, else the
    /// content of `key_file` if one is given, else none. The variable wins over the file, as
    /// flags and variables win over `ferry.toml` elsewhere.
    pub fn resolve(key_file: Option<&Path>) -> Result<Option<(StoreKey, KeySource)>, StoreKeyError> {
        resolve_from(std::env::var_os(STORE_KEY_ENV), key_file)
    }

    /// The key in a file (its base64 text); errors name the file, never its content.
    pub fn from_file(path: &Path) -> Result<StoreKey, StoreKeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreKeyError::Unreadable { path: path.to_path_buf(), error: e.to_string() })?;
        StoreKey::from_base64(&text, KeySource::File(path.to_path_buf()))
    }

    /// `plain` encrypted under a fresh random nonce, as stored: `enc:v1:<base64>`.
    pub(crate) fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).expect("the operating system gives random bytes");
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: AAD })
            .expect("ChaCha20-Poly1305 encrypts any string this short");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED}{}", STANDARD.encode(out))
    }

    /// The secret in a value written by [`StoreKey::seal`].
    pub(crate) fn open(&self, stored: &str) -> Result<String, SecretProblem> {
        let body = stored.strip_prefix(SEALED).ok_or(SecretProblem::Damaged)?;
        let bytes = STANDARD.decode(body).map_err(|_| SecretProblem::Damaged)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretProblem::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: AAD })
            .map_err(|_| SecretProblem::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretProblem::Damaged)
    }
}

fn resolve_from(
    env: Option<std::ffi::OsString>,
    key_file: Option<&Path>,
) -> Result<Option<(StoreKey, KeySource)>, StoreKeyError> {
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        let text = value.into_string().map_err(|_| StoreKeyError::Malformed(KeySource::Env))?;
        return Ok(Some((StoreKey::from_base64(&text, KeySource::Env)?, KeySource::Env)));
    }
    let Some(path) = key_file else { return Ok(None) };
    Ok(Some((StoreKey::from_file(path)?, KeySource::File(path.to_path_buf()))))
}

/// Whether a stored secret is encrypted (else it is plain text, as older Ferry wrote it).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// Why a stored secret could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretProblem {
    /// Encrypted, and Ferry runs without a store key.
    NoKey,
    /// Encrypted with another key (or altered since).
    WrongKey,
    /// Not a value Ferry wrote.
    Damaged,
}

/// A migration's secret key that cannot be read: which migration, which side, why, and what to
/// set. Never the secret or the stored value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SecretError {
    pub migration: MigrationId,
    pub name: String,
    /// `source` or `target`.
    pub side: &'static str,
    pub problem: SecretProblem,
}

impl SecretError {
    fn describe(&self) -> String {
        let what =
            format!("migration {} ({:?}): the {} cluster's secret key", self.migration, self.name, self.side);
        let set = format!(
            "set {STORE_KEY_ENV} or [store] key_file to the key it was written with ({STORE_KEY_DOC})"
        );
        match self.problem {
            SecretProblem::NoKey => format!("{what} is stored encrypted and no store key is given: {set}"),
            SecretProblem::WrongKey => {
                format!("{what} does not decrypt with the store key given (another key, or an altered value): {set}")
            }
            SecretProblem::Damaged => {
                format!("{what} is stored as an encrypted value this Ferry cannot parse (damaged, or written by a newer Ferry)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> StoreKey {
        StoreKey::from_base64(&STANDARD.encode([byte; 32]), KeySource::Env).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let k = key(7);
        let sealed = k.seal("very-secret");
        assert!(is_sealed(&sealed) && !sealed.contains("very-secret"), "{sealed}");
        assert_eq!(k.open(&sealed).unwrap(), "very-secret");
        assert_ne!(k.seal("very-secret"), sealed, "a fresh nonce each time");
        assert_eq!(key(8).open(&sealed), Err(SecretProblem::WrongKey));
        assert_eq!(k.open("enc:v1:not base64!"), Err(SecretProblem::Damaged));
        assert_eq!(k.open("enc:v1:AAAA"), Err(SecretProblem::Damaged), "shorter than a nonce");
        let mut chars: Vec<char> = sealed.chars().collect();
        let i = SEALED.len() + 20;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let altered: String = chars.into_iter().collect();
        assert_eq!(k.open(&altered), Err(SecretProblem::WrongKey), "an altered value does not open");
    }

    #[test]
    fn a_key_is_32_bytes_in_base64_and_never_shown() {
        let text = STANDARD.encode([1u8; 32]);
        assert!(StoreKey::from_base64(&format!("  {text}\n"), KeySource::Env).is_ok());
        let short = StoreKey::from_base64(&STANDARD.encode([1u8; 16]), KeySource::Env).unwrap_err();
        assert!(short.to_string().starts_with("FERRY_STORE_KEY: not a store key"), "{short}");
        let bad =
            StoreKey::from_base64("secret-but-not-base64", KeySource::File("/etc/k".into())).unwrap_err();
        assert!(bad.to_string().starts_with("key file /etc/k: not a store key"), "{bad}");
        assert!(!bad.to_string().contains("secret-but-not-base64"));
        assert_eq!(format!("{:?}", key(1)), "StoreKey(<redacted>)");
    }

    #[test]
    fn the_variable_wins_over_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("store.key");
        std::fs::write(&file, format!("{}\n", STANDARD.encode([2u8; 32]))).unwrap();
        let env = Some(std::ffi::OsString::from(STANDARD.encode([3u8; 32])));

        let (k, from) = resolve_from(env.clone(), Some(&file)).unwrap().unwrap();
        assert_eq!(from, KeySource::Env);
        assert_eq!(key(3).open(&k.seal("x")).unwrap(), "x");
        let (k, from) = resolve_from(Some("".into()), Some(&file)).unwrap().unwrap();
        assert_eq!(from, KeySource::File(file.clone()), "an empty variable is no variable");
        assert_eq!(key(2).open(&k.seal("x")).unwrap(), "x");
        assert!(resolve_from(None, None).unwrap().is_none());
        let missing = resolve_from(None, Some(&dir.path().join("nope"))).unwrap_err();
        assert!(matches!(missing, StoreKeyError::Unreadable { .. }), "{missing}");
    }

    #[test]
    fn errors_name_the_migration_and_what_to_set() {
        let e = SecretError {
            migration: MigrationId(3),
            name: "move".into(),
            side: "source",
            problem: SecretProblem::NoKey,
        };
        assert_eq!(
            e.to_string(),
            "migration 3 (\"move\"): the source cluster's secret key is stored encrypted and no store key is \
             given: set FERRY_STORE_KEY or [store] key_file to the key it was written with (docs/seamless.md, \
             \"State and restarts\")"
        );
    }
}
