//! Mutual TLS configuration for QUIC.
//!
//! Both ends present a certificate signed by the cluster CA and verify the other's: the server
//! uses rustls' `WebPkiClientVerifier` with the CA as the only root, the client verifies the
//! server's certificate against the same root and the node's name. The crypto provider is
//! `ring` (no cmake/nasm needed to build). Only TLS 1.3 is offered (QUIC requires it).
//!
//! rustls establishes only that a certificate comes from the CA (and, through its extended key
//! usage, that a client or admin certificate cannot serve as a node). *Which* node, client or
//! admin it is, and what it may do, is read from the certificate's role after the handshake
//! ([`crate::auth`]; the endpoint does it once per connection).

use std::path::Path;
use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use crate::auth::Role;
use crate::error::{Error, Result};

/// ALPN protocol id; a peer that does not offer it is refused during the handshake.
pub const ALPN: &[u8] = b"lbshard/1";

/// The CA root plus this process's own certificate chain and key.
#[derive(Debug)]
pub struct TlsIdentity {
    ca: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for TlsIdentity {
    fn clone(&self) -> Self {
        Self {
            ca: self.ca.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

fn tls(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {e}"))
}

impl TlsIdentity {
    /// Builds an identity from PEM text.
    pub fn from_pem(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Self> {
        let ca = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| tls("CA certificate", e))?;
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| tls("certificate", e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| tls("key", e))?;
        if ca.is_empty() || chain.is_empty() {
            return Err(Error::Tls("no certificate found in PEM".into()));
        }
        Ok(Self { ca, chain, key })
    }

    /// Reads an identity from PEM files.
    pub fn from_files(ca: &Path, cert: &Path, key: &Path) -> Result<Self> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
        };
        Self::from_pem(&read(ca)?, &read(cert)?, &read(key)?)
    }

    /// The role bound into this identity's own certificate.
    pub fn role(&self) -> Result<Role> {
        Role::from_chain(&self.chain)
    }

    fn roots(&self) -> Result<Arc<RootCertStore>> {
        let mut roots = RootCertStore::empty();
        for c in &self.ca {
            roots.add(c.clone()).map_err(|e| tls("CA root", e))?;
        }
        Ok(Arc::new(roots))
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// QUIC server configuration requiring a client certificate from the CA.
    pub fn server_config(&self) -> Result<quinn::ServerConfig> {
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots()?, Self::provider())
            .build()
            .map_err(|e| tls("client verifier", e))?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(Self::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls("server protocol", e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| tls("server certificate", e))?;
        cfg.alpn_protocols = vec![ALPN.to_vec()];
        let quic = QuicServerConfig::try_from(cfg).map_err(|e| tls("quic server", e))?;
        Ok(quinn::ServerConfig::with_crypto(Arc::new(quic)))
    }

    /// QUIC client configuration presenting our certificate and trusting only the CA.
    pub fn client_config(&self) -> Result<quinn::ClientConfig> {
        let mut cfg = rustls::ClientConfig::builder_with_provider(Self::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls("client protocol", e))?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| tls("client certificate", e))?;
        cfg.alpn_protocols = vec![ALPN.to_vec()];
        let quic = QuicClientConfig::try_from(cfg).map_err(|e| tls("quic client", e))?;
        Ok(quinn::ClientConfig::new(Arc::new(quic)))
    }
}
