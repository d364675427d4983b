//! A throwaway CA and server certificate for a spawned TLS server
//! ([`ServerConfig::tls`](super::ServerConfig::tls)), made in its private
//! run directory with rcgen (crate feature `tls`; no `openssl` needed).
//!
//! - The CA's key lives only in memory while the server certificate is
//!   signed, and is never written: nothing else can be signed by that CA.
//! - The server certificate names `127.0.0.1`, `::1` and `localhost`; its
//!   key is written 0600 inside the 0700 run directory, and removed with it
//!   when the server stops.
//! - Keys are ECDSA P-256, which redis-server (OpenSSL) and rustls accept.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The files a TLS server is started with, and what a client needs to
/// trust it.
pub(crate) struct TlsFiles {
    /// The CA certificate (PEM), to give clients.
    pub(crate) ca: PathBuf,
    /// The server certificate (PEM), signed by the CA.
    pub(crate) cert: PathBuf,
    /// The server certificate's key (PEM, 0600).
    pub(crate) key: PathBuf,
    /// A client config trusting only the CA, for the readiness check and
    /// the test server's `FLUSHALL`.
    #[cfg(feature = "tls")]
    pub(crate) client: std::sync::Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles").field("ca", &self.ca).finish()
    }
}

fn error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Spawn,
        format!("cannot make the TLS certificates for ServerConfig::tls: {what}: {e}"),
    )
}

/// Makes a CA and a server certificate in `dir` (the private run dir).
#[cfg(feature = "tls")]
pub(crate) fn make(dir: &Path) -> Result<TlsFiles> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate().map_err(|e| error("CA key", e))?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "redkeep throwaway CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| error("CA certificate", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(|e| error("server key", e))?;
    let mut params = CertificateParams::new(vec![
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "localhost".to_owned(),
    ])
    .map_err(|e| error("server certificate", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "redkeep local redis-server");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| error("server certificate", e))?;

    let files = |name: &str| dir.join(name);
    let (ca, cert_path, key_path) = (files("ca.crt"), files("server.crt"), files("server.key"));
    write(&ca, ca_cert.pem().as_bytes(), 0o644)?;
    write(&cert_path, cert.pem().as_bytes(), 0o644)?;
    write(&key_path, key.serialize_pem().as_bytes(), 0o600)?;

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ca_cert.der().clone())
        .map_err(|e| error("trusting the CA", e))?;
    let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| error("TLS client", e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsFiles {
        ca,
        cert: cert_path,
        key: key_path,
        client: std::sync::Arc::new(client),
    })
}

/// Without the `tls` feature, [`ServerConfig::validate`](super::ServerConfig::validate)
/// refuses `tls` before this is reached.
#[cfg(not(feature = "tls"))]
pub(crate) fn make(_dir: &Path) -> Result<TlsFiles> {
    Err(error(
        "unsupported",
        "redkeep was built without its `tls` feature",
    ))
}

/// Writes a new file with `mode` (unix), never through an existing one.
#[cfg(feature = "tls")]
fn write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| error(&path.display().to_string(), e))
}
