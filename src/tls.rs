//! TLS settings beyond what a `rediss://` URL says: the CA to trust and a
//! client certificate for mutual TLS. Used with the crate feature `tls`.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Language, Param, Result};

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
    /// its key (the error's [`Error::param`] is the missing one, so every
    /// binding names its own option), and the crate was built with TLS.
    pub fn validate(&self) -> Result<()> {
        // The missing one is the setting the error is about; each binding's
        // message names both its own way (`Error::message_in`).
        let (missing, given) = match (&self.client_cert, &self.client_key) {
            (Some(_), None) => (Param::TlsClientKey, Param::TlsClientCert),
            (None, Some(_)) => (Param::TlsClientCert, Param::TlsClientKey),
            _ => return self.check_feature(),
        };
        Err(Error::config(format!(
            "{} is set without {}: mutual TLS needs both the client certificate and its key",
            given.name(Language::Rust),
            missing.name(Language::Rust),
        ))
        .with_param(missing)
        .also_naming(given))
    }

    fn check_feature(&self) -> Result<()> {
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
        let err = tls.validate().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert_eq!(err.param(), Some(Param::TlsClientKey));
        assert_eq!(
            err.message_in(Language::Go),
            "TLSOptions.CertFile is set without TLSOptions.KeyFile: \
             mutual TLS needs both the client certificate and its key"
        );
        assert!(err
            .message_in(Language::Python)
            .starts_with("ssl_certfile= is set without ssl_keyfile="));
        let key_only = TlsConfig {
            client_key: Some(Pem::Text("KEY".into())),
            ..TlsConfig::default()
        };
        let err = key_only.validate().unwrap_err();
        assert_eq!(err.param(), Some(Param::TlsClientCert));
        assert!(err.message_in(Language::C).starts_with(
            "redkeep_pool_options.tls_key_file is set without redkeep_pool_options.tls_cert_file"
        ));
    }
}
