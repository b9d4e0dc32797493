//! How the PostgreSQL store reaches its database: the URL parsed once, and TLS (rustls) when
//! the URL asks for it.
//!
//! - No `sslmode` in the URL: plain, as before (a Unix socket, or a private network).
//! - `sslmode=require` (what managed databases ask for), `prefer`: TLS with the server's
//!   certificate **always verified**, against Mozilla's roots (`webpki-roots`) and, when set,
//!   the PEM file `LENSBOT_STORE_CA_FILE` names (a provider's own CA, e.g. Amazon RDS's bundle).
//!   This is stricter than libpq's `require`, which encrypts without verifying: a certificate
//!   that does not verify is refused, with a message saying so. `prefer` still connects in the
//!   clear when the server offers no TLS at all.
//! - `sslmode=disable`: plain.
//!
//! Over a Unix socket there is no TLS (PostgreSQL offers none there).

use crate::store::StoreError;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The environment variable naming a PEM file of extra CA certificates for the database.
pub const CA_FILE_ENV: &str = "LENSBOT_STORE_CA_FILE";

/// The connector every connection uses (plain when the configuration says so).
pub type Tls = MakeRustlsConnect;

/// The database's configuration from `url`, and the TLS connector for it.
pub fn settings(url: &str) -> Result<(tokio_postgres::Config, Tls), StoreError> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError::Io(format!("the PostgreSQL address is not valid: {e}")))?;
    if !url.contains("sslmode") {
        // tokio-postgres's default is `prefer`; without a word in the URL we stay plain, as
        // the store always was (no certificate to verify on a socket or a private network).
        config.ssl_mode(SslMode::Disable);
    }
    let extra = match std::env::var_os(CA_FILE_ENV) {
        Some(p) if !p.is_empty() => Some(std::path::PathBuf::from(p)),
        _ => None,
    };
    Ok((config, connector(extra.as_deref())?))
}

/// A rustls connector trusting Mozilla's roots and the certificates in `extra`.
fn connector(extra: Option<&std::path::Path>) -> Result<Tls, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| {
                StoreError::Io(format!(
                    "cannot read the database CA file {} ({CA_FILE_ENV}): {e}",
                    path.display()
                ))
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| {
                StoreError::Io(format!(
                    "the database CA file {} ({CA_FILE_ENV}) is not PEM certificates: {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(StoreError::Io(format!(
                "the database CA file {} ({CA_FILE_ENV}) holds no certificate",
                path.display()
            )));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                StoreError::Io(format!(
                    "a certificate in {} ({CA_FILE_ENV}) cannot be used: {e}",
                    path.display()
                ))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Io(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_unless_the_url_asks_for_tls() {
        let (c, _) = settings("postgres://u@h/db").unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Disable);
        let (c, _) = settings("postgres://u@h/db?sslmode=require").unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Require);
        assert!(settings("postgres://u@h/db?sslmode=sometimes").is_err());
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let e = connector(Some(&p)).err().unwrap().to_string();
        assert!(e.contains("ca.pem") && e.contains("no certificate"), "{e}");
    }
}
