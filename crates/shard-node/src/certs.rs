//! The cluster certificate authority: one CA, one certificate per node, client and admin, each
//! bound to its [`Role`].
//!
//! ```text
//! shard-node certs --out certs --nodes n1,n2,n3          # new CA: certs/ca/{ca.pem,ca.key}
//! shard-node certs --out certs --add-node 4=n4           # later, from the same CA
//! ```
//!
//! A new CA writes `OUT/ca.pem` (what every node and client trusts), `NAME.pem` + `NAME.key` for
//! every node (`ID=NAME`, or `nID` whose id is read from the name), for the client `client` (the
//! gateway) and the admin `admin` (the `shard-node admin` tool), and keeps the CA itself in
//! `OUT/ca/` (`ca.pem` and `ca.key`). Keep that directory away from the nodes: nodes and clients
//! need only `ca.pem` and their own pair, and whoever holds `ca.key` can issue any role.
//! `--add-node`, `--add-client` and `--add-admin` issue more certificates from the kept CA
//! (`--ca-dir`, default `OUT/ca`), so nodes can be added to a running cluster.
//!
//! * Node certificates: URI SAN `urn:lbshard:node:<id>`, DNS SANs `NAME` and `localhost`, IP
//!   SAN `127.0.0.1` (a node is reached by its name or on loopback), server *and* client auth
//!   (nodes dial each other).
//! * Client and admin certificates: URI SAN `urn:lbshard:client:<name>` /
//!   `urn:lbshard:admin:<name>`, client auth only, so they cannot serve as a node.
//!
//! Private keys (`*.key`, `ca/ca.key`) are written with mode 0600 through a temporary file and a
//! rename, so no other user can read them at any moment. Keys are ECDSA P-256 (ring). See
//! [`crate::auth`] for what each role may do. This is a small self-contained CA for clusters
//! that have no PKI; any CA that issues the same SANs and key usages works.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

pub use crate::auth::Role;
use crate::error::{Error, Result};
use crate::types::NodeId;

/// Name of the client certificate a new CA always issues (the gateway's).
pub const CLIENT: &str = "client";
/// Name of the admin certificate a new CA always issues (the `shard-node admin` tool's).
pub const ADMIN: &str = "admin";
/// File name of the CA certificate, in the output and in the CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key, in the CA directory only.
pub const CA_KEY_FILE: &str = "ca.key";

/// A certificate to issue: its file and DNS name, and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Name of the files (`NAME.pem`, `NAME.key`); for nodes also the TLS server name.
    pub name: String,
    /// The role bound into the certificate.
    pub role: Role,
}

impl Leaf {
    /// A node certificate for node `id`, reached as `name`.
    pub fn node(id: NodeId, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            role: Role::Node(id),
        }
    }

    /// A client certificate (reads and writes).
    pub fn client(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            role: Role::Client(name.clone()),
            name,
        }
    }

    /// An admin certificate (membership, initialize, snapshots, and what clients may do).
    pub fn admin(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            role: Role::Admin(name.clone()),
            name,
        }
    }

    /// Parses a node given as `ID=NAME`, or as `nID` (`n4` is node 4, the name `shard-node run`
    /// uses by default).
    pub fn parse_node(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let bad = || {
            Error::Config(format!(
                "bad node {spec:?}: expected ID=NAME (e.g. 4=n4) or nID (e.g. n4)"
            ))
        };
        let (id, name) = match spec.split_once('=') {
            Some((id, name)) => (id.trim(), name.trim()),
            None => (spec.strip_prefix('n').ok_or_else(bad)?, spec),
        };
        let id: NodeId = id.parse().map_err(|_| bad())?;
        if id == 0 {
            return Err(bad());
        }
        Ok(Self::node(id, name))
    }
}

/// A certificate and its private key, PEM encoded.
#[derive(Debug, Clone)]
pub struct PemPair {
    /// The name the certificate is issued for.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Certificate PEM.
    pub cert_pem: String,
    /// PKCS#8 private key PEM.
    pub key_pem: String,
}

impl PemPair {
    /// Writes `NAME.pem` (0644) and `NAME.key` (0600) under `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        write_file(
            &dir.join(format!("{}.pem", self.name)),
            &self.cert_pem,
            0o644,
        )?;
        write_file(
            &dir.join(format!("{}.key", self.name)),
            &self.key_pem,
            0o600,
        )
    }
}

/// Writes `path` through a temporary file created with `mode` and renamed into place, so the
/// file never exists with wider permissions, even when it replaces an older one.
fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts
        .open(&tmp)
        .map_err(|e| Error::Io(format!("{}: {e}", tmp.display())))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

fn rc(e: rcgen::Error) -> Error {
    Error::Tls(format!("certificate generation: {e}"))
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(Error::Config(format!("invalid certificate name {name:?}")));
    }
    Ok(())
}

/// A certificate authority that can issue leaf certificates.
pub struct Ca {
    /// The CA certificate as distributed (the original PEM when loaded).
    cert_pem: String,
    /// The issuer used for signing (rebuilt from the certificate when loaded; same name, key
    /// and key identifier, so leaves chain to the distributed `ca.pem`).
    issuer: Certificate,
    key: KeyPair,
}

impl Ca {
    /// A new self-signed CA.
    pub fn generate() -> Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "leaderboard shard CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(rc)?;
        let issuer = params.self_signed(&key).map_err(rc)?;
        Ok(Self {
            cert_pem: issuer.pem(),
            issuer,
            key,
        })
    }

    /// A CA from its certificate and private key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| Error::Tls(format!("CA key: {e}")))?;
        let params = CertificateParams::from_ca_cert_pem(cert_pem)
            .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        // The key must be the certificate's: compare the public keys.
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        if parsed.public_key().raw != key.public_key_der().as_slice() {
            return Err(Error::Tls(
                "CA key does not belong to the CA certificate".into(),
            ));
        }
        let issuer = params.self_signed(&key).map_err(rc)?;
        Ok(Self {
            cert_pem: cert_pem.to_string(),
            issuer,
            key,
        })
    }

    /// Loads `DIR/ca.pem` and `DIR/ca.key`.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |f: &str| {
            let p = dir.join(f);
            std::fs::read_to_string(&p).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
        };
        Self::from_pem(&read(CA_CERT_FILE)?, &read(CA_KEY_FILE)?)
    }

    /// The CA certificate (PEM), what nodes and clients trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key (PEM). Keep it secret.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Writes `DIR/ca.pem` (0644) and `DIR/ca.key` (0600).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        write_file(&dir.join(CA_CERT_FILE), &self.cert_pem, 0o644)?;
        write_file(&dir.join(CA_KEY_FILE), &self.key_pem(), 0o600)
    }

    /// Issues a certificate for `leaf`.
    pub fn issue(&self, leaf: &Leaf) -> Result<PemPair> {
        check_name(&leaf.name)?;
        let role_uri = leaf.role.uri();
        if Role::from_uri(&role_uri).as_ref() != Some(&leaf.role) {
            return Err(Error::Config(format!("invalid role {}", leaf.role)));
        }
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        params
            .distinguished_name
            .push(DnType::CommonName, leaf.name.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let uri = SanType::URI(role_uri.try_into().map_err(rc)?);
        match leaf.role {
            Role::Node(_) => {
                params.subject_alt_names = vec![
                    uri,
                    SanType::DnsName(leaf.name.clone().try_into().map_err(rc)?),
                    SanType::DnsName("localhost".try_into().map_err(rc)?),
                    SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                ];
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
            }
            Role::Admin(_) | Role::Client(_) => {
                params.subject_alt_names = vec![uri];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
        }
        let key = KeyPair::generate().map_err(rc)?;
        let cert = params
            .signed_by(&key, &self.issuer, &self.key)
            .map_err(rc)?;
        Ok(PemPair {
            name: leaf.name.clone(),
            role: leaf.role.clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

#[cfg(test)]
impl Ca {
    /// A certificate from this CA in the format used before roles existed (DNS SAN only, server
    /// and client auth): tests check that it is refused.
    pub(crate) fn issue_without_role(&self, name: &str) -> Result<PemPair> {
        let mut params = CertificateParams::new(vec![name.to_string()]).map_err(rc)?;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(rc)?;
        let cert = params
            .signed_by(&key, &self.issuer, &self.key)
            .map_err(rc)?;
        Ok(PemPair {
            name: name.to_string(),
            role: Role::Client(name.to_string()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A generated CA and its leaf certificates.
#[derive(Debug, Clone)]
pub struct DevCerts {
    /// The CA certificate every node and client trusts.
    pub ca_pem: String,
    /// The CA private key (written only to the CA directory).
    pub ca_key_pem: String,
    /// One pair per requested leaf, in request order.
    pub leaves: Vec<PemPair>,
}

impl DevCerts {
    /// The pair issued for `name`.
    pub fn get(&self, name: &str) -> Option<&PemPair> {
        self.leaves.iter().find(|p| p.name == name)
    }

    /// The CA, to issue more certificates.
    pub fn ca(&self) -> Result<Ca> {
        Ca::from_pem(&self.ca_pem, &self.ca_key_pem)
    }

    /// Writes `ca.pem` and every leaf's `NAME.pem` + `NAME.key` (0600) under `dir` (created if
    /// missing). The CA key is not written here: see [`DevCerts::write_ca_to`].
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        write_file(&dir.join(CA_CERT_FILE), &self.ca_pem, 0o644)?;
        for leaf in &self.leaves {
            leaf.write_to(dir)?;
        }
        Ok(())
    }

    /// Writes the CA (`ca.pem`, `ca.key` with mode 0600) under `dir`.
    pub fn write_ca_to(&self, dir: &Path) -> Result<()> {
        self.ca()?.write_to(dir)
    }
}

/// Generates a new CA and one certificate per leaf.
pub fn generate(leaves: &[Leaf]) -> Result<DevCerts> {
    let ca = Ca::generate()?;
    let leaves = leaves.iter().map(|l| ca.issue(l)).collect::<Result<_>>()?;
    Ok(DevCerts {
        ca_pem: ca.cert_pem().to_string(),
        ca_key_pem: ca.key_pem(),
        leaves,
    })
}

/// A new CA with nodes `n1..=nN` (ids 1..=N), the client [`CLIENT`] and the admin [`ADMIN`]:
/// what tests and benchmarks use.
pub fn dev_cluster(nodes: u64) -> Result<DevCerts> {
    let leaves: Vec<Leaf> = (1..=nodes)
        .map(|i| Leaf::node(i, format!("n{i}")))
        .chain([Leaf::client(CLIENT), Leaf::admin(ADMIN)])
        .collect();
    generate(&leaves)
}

/// `shard-node certs` for a new cluster: a new CA kept in `ca_dir` (refused if that directory
/// already holds a CA key, so a running cluster's CA is never replaced by accident), `ca.pem`
/// and the leaves in `out`. `client` and `admin` certificates are always included.
pub fn new_cluster(out: &Path, ca_dir: &Path, leaves: &[Leaf]) -> Result<DevCerts> {
    if ca_dir.join(CA_KEY_FILE).exists() {
        return Err(Error::Config(format!(
            "{} already holds a CA key: issue from it with --add-node/--add-client/--add-admin, \
             or delete it to start a new CA",
            ca_dir.display()
        )));
    }
    let mut all = leaves.to_vec();
    for extra in [Leaf::client(CLIENT), Leaf::admin(ADMIN)] {
        if !all.iter().any(|l| l.name == extra.name) {
            all.push(extra);
        }
    }
    let certs = generate(&all)?;
    certs.write_ca_to(ca_dir)?;
    certs.write_to(out)?;
    Ok(certs)
}

/// `shard-node certs --add-...`: issues `leaves` from the CA kept in `ca_dir` and writes them,
/// with `ca.pem`, into `out`.
pub fn add_to_cluster(out: &Path, ca_dir: &Path, leaves: &[Leaf]) -> Result<Vec<PemPair>> {
    if leaves.is_empty() {
        return Err(Error::Config("nothing to issue".into()));
    }
    let ca = Ca::load(ca_dir)?;
    let pairs = leaves
        .iter()
        .map(|l| ca.issue(l))
        .collect::<Result<Vec<_>>>()?;
    std::fs::create_dir_all(out)?;
    write_file(&out.join(CA_CERT_FILE), ca.cert_pem(), 0o644)?;
    for p in &pairs {
        p.write_to(out)?;
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_of(pem: &str) -> Role {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        Role::from_cert_der(&der).unwrap()
    }

    #[test]
    fn leaves_carry_their_roles() {
        let c = dev_cluster(2).unwrap();
        assert_eq!(role_of(&c.get("n2").unwrap().cert_pem), Role::Node(2));
        assert_eq!(
            role_of(&c.get(CLIENT).unwrap().cert_pem),
            Role::Client(CLIENT.into())
        );
        assert_eq!(
            role_of(&c.get(ADMIN).unwrap().cert_pem),
            Role::Admin(ADMIN.into())
        );
        assert!(generate(&[Leaf::client("bad name")]).is_err());
        assert!(generate(&[Leaf::node(0, "n0")]).is_err());
    }

    #[test]
    fn node_specs() {
        assert_eq!(Leaf::parse_node("n4").unwrap(), Leaf::node(4, "n4"));
        assert_eq!(
            Leaf::parse_node("12=shard-a").unwrap(),
            Leaf::node(12, "shard-a")
        );
        for bad in ["client", "x4", "n0", "0=n0", "=n1", "n", "4="] {
            let r = Leaf::parse_node(bad).and_then(|l| generate(&[l]).map(|_| ()));
            assert!(r.is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_private_and_the_ca_is_kept_apart() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (out, ca_dir) = (dir.path().join("certs"), dir.path().join("certs/ca"));
        // A file that already exists with wide permissions is replaced, not reused.
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("n1.key"), "old").unwrap();
        std::fs::set_permissions(out.join("n1.key"), std::fs::Permissions::from_mode(0o666))
            .unwrap();
        new_cluster(&out, &ca_dir, &[Leaf::node(1, "n1")]).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for key in ["n1.key", "client.key", "admin.key", "ca/ca.key"] {
            assert_eq!(mode(&out.join(key)), 0o600, "{key}");
        }
        assert_eq!(mode(&out.join("ca.pem")), 0o644);
        assert!(
            !out.join("ca.key").exists(),
            "the CA key stays in the CA directory"
        );
        // A second new CA over the first is refused.
        assert!(new_cluster(&out, &ca_dir, &[Leaf::node(1, "n1")]).is_err());
        // The kept CA issues a node that chains to the same ca.pem.
        let added = add_to_cluster(&out, &ca_dir, &[Leaf::node(4, "n4")]).unwrap();
        assert_eq!(added[0].role, Role::Node(4));
        assert_eq!(mode(&out.join("n4.key")), 0o600);
        assert_eq!(
            std::fs::read_to_string(out.join("ca.pem")).unwrap(),
            std::fs::read_to_string(ca_dir.join("ca.pem")).unwrap()
        );
        // A key that does not belong to the certificate is refused.
        let other = Ca::generate().unwrap();
        let ca_pem = std::fs::read_to_string(ca_dir.join("ca.pem")).unwrap();
        assert!(Ca::from_pem(&ca_pem, &other.key_pem()).is_err());
    }
}
