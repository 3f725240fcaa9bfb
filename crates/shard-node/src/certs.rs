//! Development certificate authority: one CA, one certificate per node and per client.
//!
//! `shard-node certs --out DIR --nodes n1,n2,n3` writes `ca.pem`, and for every name `NAME.pem` +
//! `NAME.key`. Each leaf certificate is valid for TLS server *and* client auth (nodes dial each
//! other), with SANs `NAME`, `localhost` and `127.0.0.1`, so a node can be reached by its
//! name or on loopback. Keys are ECDSA P-256 (ring). The CA key is *not* written: this is a dev
//! CA, re-run the command to issue a new set. Production should use a real CA.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::error::{Error, Result};

/// A certificate and its private key, PEM encoded.
#[derive(Debug, Clone)]
pub struct PemPair {
    /// The name the certificate is issued for.
    pub name: String,
    /// Certificate PEM.
    pub cert_pem: String,
    /// PKCS#8 private key PEM.
    pub key_pem: String,
}

/// A freshly generated dev CA and its leaf certificates.
#[derive(Debug, Clone)]
pub struct DevCerts {
    /// The CA certificate every node and client trusts.
    pub ca_pem: String,
    /// One pair per requested name, in request order.
    pub leaves: Vec<PemPair>,
}

impl DevCerts {
    /// The pair issued for `name`.
    pub fn get(&self, name: &str) -> Option<&PemPair> {
        self.leaves.iter().find(|p| p.name == name)
    }

    /// Writes `ca.pem`, `NAME.pem` and `NAME.key` under `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("ca.pem"), &self.ca_pem)?;
        for leaf in &self.leaves {
            std::fs::write(dir.join(format!("{}.pem", leaf.name)), &leaf.cert_pem)?;
            std::fs::write(dir.join(format!("{}.key", leaf.name)), &leaf.key_pem)?;
        }
        Ok(())
    }
}

fn rc(e: rcgen::Error) -> Error {
    Error::Tls(format!("certificate generation: {e}"))
}

/// Generates a CA and one leaf certificate per name.
pub fn generate(names: &[String]) -> Result<DevCerts> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "leaderboard shard dev CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(rc)?;
    let ca = ca_params.self_signed(&ca_key).map_err(rc)?;

    let mut leaves = Vec::with_capacity(names.len());
    for name in names {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(Error::Config(format!("invalid certificate name {name:?}")));
        }
        let mut params =
            CertificateParams::new(vec![name.clone(), "localhost".to_string()]).map_err(rc)?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, name.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(rc)?;
        let cert = params.signed_by(&key, &ca, &ca_key).map_err(rc)?;
        leaves.push(PemPair {
            name: name.clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        });
    }
    Ok(DevCerts {
        ca_pem: ca.pem(),
        leaves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_files() {
        let dir = tempfile::tempdir().unwrap();
        let certs = generate(&["n1".into(), "client".into()]).unwrap();
        certs.write_to(dir.path()).unwrap();
        for f in ["ca.pem", "n1.pem", "n1.key", "client.pem", "client.key"] {
            assert!(dir.path().join(f).exists(), "{f}");
        }
        assert!(generate(&["bad name".into()]).is_err());
    }
}
