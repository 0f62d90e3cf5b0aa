//! The master key: 32 bytes that seal signing keys at rest with AES-256-GCM.
//! From `master_key` (`PATGATE_MASTER_KEY`, base64) or a key file that is
//! generated with mode 0600 when missing.

use super::KeyError;
use crate::clock::RandomSource;
use crate::secret::SecretString;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

const NONCE_LEN: usize = 12;

/// The key that seals signing keys; its `Debug` never shows it.
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Decodes a base64 value of exactly 32 bytes.
    pub fn from_base64(value: &SecretString) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(value.expose().trim())
            .map_err(|_| KeyError::Config("master key: not valid base64".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Config("master key: must decode to exactly 32 bytes".into()))?;
        Ok(Self(key))
    }

    /// Reads the key file at `path`, or creates it (mode 0600) with a fresh
    /// key when it does not exist.
    pub fn load_or_create(path: &Path, random: &dyn RandomSource) -> Result<Self, KeyError> {
        let io = |e: std::io::Error| KeyError::Config(format!("{}: {e}", path.display()));
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut key = [0u8; 32];
            random.fill(&mut key);
            // create_new: if another process created it meanwhile, read theirs.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(mut f) => {
                    f.write_all(STANDARD.encode(key).as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                    return Ok(Self(key));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "master key file is readable by group or others; chmod 600 it");
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::from_base64(&SecretString::new(text))
    }

    /// Encrypts `plaintext`, bound to `label` (the key id) as associated data.
    pub fn seal(&self, label: &str, plaintext: &[u8], random: &dyn RandomSource) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let cipher = Aes256Gcm::new((&self.0).into());
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: label.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short message cannot fail");
        [nonce.as_slice(), &ct].concat()
    }

    /// Decrypts what `seal` produced for the same `label`.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() <= NONCE_LEN {
            return Err(KeyError::WrongMasterKey);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        Aes256Gcm::new((&self.0).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| KeyError::WrongMasterKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn seal_open_round_trip_and_label_binding() {
        let k = MasterKey::from_base64(&SecretString::new(STANDARD.encode([7u8; 32]))).unwrap();
        let sealed = k.seal("kid1", b"private", &OsRandom);
        assert_eq!(k.open("kid1", &sealed).unwrap(), b"private");
        assert!(k.open("kid2", &sealed).is_err());
        let other = MasterKey::from_base64(&SecretString::new(STANDARD.encode([8u8; 32]))).unwrap();
        assert!(other.open("kid1", &sealed).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let a = MasterKey::load_or_create(&path, &OsRandom).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = MasterKey::load_or_create(&path, &OsRandom).unwrap();
        assert_eq!(a.0, b.0);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(MasterKey::from_base64(&SecretString::new("!!")).is_err());
        assert!(MasterKey::from_base64(&SecretString::new(STANDARD.encode([1u8; 16]))).is_err());
    }
}
