//! DKIM keys: the public key of a private key file (for `kumoc dns`), and new key pairs
//! (`kumoc dkim keygen`). Private key material stays in memory for as long as it takes to
//! write or read it and is never printed; only file names and public keys appear in output.
//!
//! Key formats KumoMTA reads (`crates/message/src/dkim.rs`, `DkimPrivateKey`): RSA as PKCS#1
//! (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) PEM, Ed25519 as PKCS#8 PEM or
//! DER. New keys are PKCS#8 PEM for both (what `openssl genpkey` writes).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use kumoc_compiler::dns::{PublicKey, base64};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
};
use rsa::traits::PublicKeyParts as _;

/// The public key of a PEM file: an RSA or Ed25519 private key, or a public key
/// (`BEGIN PUBLIC KEY`, SubjectPublicKeyInfo), so the private key need not be on the machine
/// that prints the records.
pub fn public_key(pem: &str) -> Result<PublicKey, String> {
    let pem = pem.trim();
    if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        let key = rsa::PrivateKey::from_pkcs1_pem(pem)
            .map_err(|e| format!("not a PKCS#1 RSA private key ({e})"))?;
        return rsa_public(&key.to_public_key());
    }
    if pem.contains("-----BEGIN PRIVATE KEY-----") {
        if let Ok(key) = rsa::PrivateKey::from_pkcs8_pem(pem) {
            return rsa_public(&key.to_public_key());
        }
        let key = ed25519_compact::KeyPair::from_pem(pem)
            .map_err(|_| "a PKCS#8 private key that is neither RSA nor Ed25519".to_string())?;
        return Ok(ed25519_public(&key.pk));
    }
    if pem.contains("-----BEGIN PUBLIC KEY-----") {
        if let Ok(key) = rsa::PublicKey::from_public_key_pem(pem) {
            return rsa_public(&key);
        }
        let key = ed25519_compact::PublicKey::from_pem(pem)
            .map_err(|_| "a public key that is neither RSA nor Ed25519".to_string())?;
        return Ok(ed25519_public(&key));
    }
    Err("not a PEM key (`BEGIN RSA PRIVATE KEY`, `BEGIN PRIVATE KEY` or `BEGIN PUBLIC KEY`)".into())
}

fn rsa_public(key: &rsa::PublicKey) -> Result<PublicKey, String> {
    let der = key
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key ({e})"))?;
    Ok(PublicKey {
        k: "rsa",
        p: base64(der.as_bytes()),
        bits: u32::try_from(key.size() * 8).unwrap_or(u32::MAX),
    })
}

/// RFC 8463: the `p=` of an Ed25519 key is the raw 32-byte key, not SubjectPublicKeyInfo.
fn ed25519_public(pk: &ed25519_compact::PublicKey) -> PublicKey {
    PublicKey {
        k: "ed25519",
        p: base64(&pk[..]),
        bits: 256,
    }
}

/// A new key pair: the private key as PKCS#8 PEM and its public key.
pub fn generate(algorithm: &str, bits: u32) -> Result<(String, PublicKey), String> {
    match algorithm {
        "ed25519" => {
            let kp = ed25519_compact::KeyPair::generate();
            Ok((kp.sk.to_pem(), ed25519_public(&kp.pk)))
        }
        _ => {
            let bits = usize::try_from(bits).map_err(|_| "key size out of range".to_string())?;
            let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
                .map_err(|e| format!("cannot generate an RSA-{bits} key ({e})"))?;
            let pem = key
                .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|e| format!("cannot encode the private key ({e})"))?;
            let public = rsa_public(&key.to_public_key())?;
            Ok((pem.to_string(), public))
        }
    }
}

/// Write a private key readable by its owner only (0600): through a temporary file in the
/// same directory, then moved into place, so a failure never leaves a partial key. Without
/// `force` an existing file is never replaced (the move is a hard link, which fails if the
/// name exists, so a race cannot overwrite either).
pub fn write_private(path: &Path, bytes: &[u8], force: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.kumoc-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if force {
            std::fs::rename(&tmp, path)
        } else {
            std::fs::hard_link(&tmp, path)
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KumoMTA's Ed25519 test key (`crates/dkim/src/lib.rs`): RFC 8463's example, whose
    /// record is `p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=`.
    #[test]
    fn ed25519_record_is_the_raw_key() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
        let pk = public_key(pem).unwrap();
        assert_eq!(pk.k, "ed25519");
        assert_eq!(pk.p, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    }
}
