//! TLS settings beyond what a `rediss://` URL says: the CA to trust and a
//! client certificate for mutual TLS. Used with the crate feature `tls`.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where a PEM document comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file holding PEM text.
    File(PathBuf),
    /// The PEM text itself.
    Text(String),
}

impl Pem {
    /// The document's bytes; a file that cannot be read is a `Config` error
    /// naming the file (never its contents).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn read(&self, what: &str) -> Result<Vec<u8>> {
        match self {
            Pem::Text(text) => Ok(text.as_bytes().to_vec()),
            Pem::File(path) => std::fs::read(path).map_err(|e| {
                Error::config(format!("cannot read the {what} {}: {e}", path.display()))
            }),
        }
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(path) => f.debug_tuple("File").field(path).finish(),
            Pem::Text(_) => f.write_str("Text(..)"),
        }
    }
}

/// TLS settings for a pool (`Config::tls`), on top of a `rediss://` URL (a
/// `redis://` URL is upgraded to TLS when this is set).
///
/// ```
/// use redkeep::{Config, Pem, TlsConfig};
/// let mut config = Config::from_url("rediss://redis.internal:6380");
/// config.tls = Some(TlsConfig {
///     ca_cert: Some(Pem::File("/etc/redis/ca.crt".into())),
///     ..TlsConfig::default()
/// });
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// The CA certificate(s) to trust instead of the built-in web roots.
    /// Default: `None` (the web roots).
    pub ca_cert: Option<Pem>,
    /// A client certificate for mutual TLS (`tls-auth-clients yes`); needs
    /// `client_key`. Default: `None`.
    pub client_cert: Option<Pem>,
    /// The client certificate's private key; never shown in `Debug`,
    /// messages or logs. Default: `None`.
    pub client_key: Option<Pem>,
    /// Skips verifying the server's certificate. Only when asked for: the
    /// connection is then open to a man in the middle. Default: `false`.
    pub insecure: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_cert", &self.ca_cert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key.as_ref().map(|_| "<hidden>"))
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl TlsConfig {
    /// Checks it without reading any file: a client certificate comes with
    /// its key, and the crate was built with TLS.
    pub fn validate(&self) -> Result<()> {
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(Error::config(
                "TlsConfig::client_cert and TlsConfig::client_key go together (mutual TLS needs both)",
            ));
        }
        if !cfg!(feature = "tls") {
            return Err(Error::config(
                "Config::tls is set, but redkeep was built without its `tls` feature",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_key() {
        let tls = TlsConfig {
            client_cert: Some(Pem::Text("CERT".into())),
            client_key: Some(Pem::Text("-----BEGIN PRIVATE KEY----- secret".into())),
            ..TlsConfig::default()
        };
        let shown = format!("{tls:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("CERT"),
            "{shown}"
        );
    }

    #[test]
    fn a_certificate_needs_its_key() {
        let tls = TlsConfig {
            client_cert: Some(Pem::Text("CERT".into())),
            ..TlsConfig::default()
        };
        assert_eq!(tls.validate().unwrap_err().kind(), crate::ErrorKind::Config);
    }
}
