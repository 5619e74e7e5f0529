//! TLS to a PostgreSQL server, as libpq's `sslmode` and `sslrootcert` ask for it (from the
//! URL, else `PGSSLMODE` / `PGSSLROOTCERT`): rustls, no system library.
//!
//! | sslmode | encrypted | the server's certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` (the default) | when the server offers it | checked against the root certificate when there is one |
//! | `require` | always | as `prefer` |
//! | `verify-ca` | always | signed by the root certificate |
//! | `verify-full` | always | signed by it, and naming the host |
//!
//! The root certificate is `sslrootcert`, else `~/.postgresql/root.crt` when it exists (as
//! libpq); `verify-ca` and `verify-full` without one are an error before anything is sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PgEnvironment;
use crate::Error;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it (libpq's `allow` and `prefer`).
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS, the server's certificate signed by the root certificate.
    VerifyCa,
    /// As `VerifyCa`, and the certificate names the host connected to.
    VerifyFull,
}

impl TlsMode {
    /// Parses a `sslmode` value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value {
            "disable" => TlsMode::Disable,
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(Error::PgUrl {
                    message: format!(
                        "sslmode {other:?} is not one of disable, allow, prefer, require, \
                         verify-ca, verify-full"
                    ),
                });
            }
        })
    }

    /// The name libpq gives it.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }
}

/// What a URL says about TLS (`None`: the environment's or libpq's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    pub(crate) mode: Option<TlsMode>,
    pub(crate) root_cert: Option<PathBuf>,
}

/// The TLS of one connection: the mode for postgres's `Config` and the connector.
pub(crate) struct Tls {
    pub(crate) mode: SslMode,
    pub(crate) connector: Option<MakeRustlsConnect>,
}

impl Tls {
    /// Plain: no TLS asked or possible.
    pub(crate) fn none() -> Self {
        Tls {
            mode: SslMode::Disable,
            connector: None,
        }
    }
}

/// The TLS a connection with `options` uses in `environment`.
pub(crate) fn tls_for(options: &TlsOptions, environment: &PgEnvironment) -> Result<Tls, Error> {
    let mode = match (&options.mode, &environment.ssl_mode) {
        (Some(mode), _) => *mode,
        (None, Some(text)) => TlsMode::parse(text)?,
        (None, None) => TlsMode::Prefer,
    };
    if mode == TlsMode::Disable {
        return Ok(Tls::none());
    }
    let root_cert = match options
        .root_cert
        .clone()
        .or_else(|| environment.ssl_root_cert.clone())
    {
        Some(given) => Some(given),
        // libpq's default, used only when it is there.
        None => environment
            .home
            .as_ref()
            .map(|home| home.join(".postgresql/root.crt"))
            .filter(|p| p.is_file()),
    };
    // ring, not aws-lc-rs: no cmake or C library to build; rustls 0.23.48 deprecates ring's
    // provider only to point at post-quantum key exchange, which a registry's connection
    // can do without.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match (&root_cert, mode.verifies()) {
        (None, true) => {
            return Err(Error::PgUrl {
                message: format!(
                    "sslmode {} needs a root certificate: give sslrootcert (or PGSSLROOTCERT), \
                     or put it in ~/.postgresql/root.crt",
                    mode.name()
                ),
            });
        }
        (None, false) => Arc::new(EncryptOnly(provider.clone())),
        (Some(path), _) => {
            let roots = Arc::new(root_store(path)?);
            let chain = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| Error::PgUrl {
                    message: format!("root certificate {}: {e}", path.display()),
                })?;
            if mode == TlsMode::VerifyFull {
                chain
            } else {
                Arc::new(ChainOnly(chain))
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::PgUrl {
            message: format!("TLS: {e}"),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Tls {
        mode: if mode == TlsMode::Prefer {
            SslMode::Prefer
        } else {
            SslMode::Require
        },
        connector: Some(MakeRustlsConnect::new(config)),
    })
}

/// The certificates of a PEM file.
fn root_store(path: &Path) -> Result<RootCertStore, Error> {
    let unreadable = |e: &dyn std::fmt::Display| Error::PgUrl {
        message: format!("root certificate {}: {e}", path.display()),
    };
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        store
            .add(cert.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if store.is_empty() {
        return Err(unreadable(&"no certificate in it"));
    }
    Ok(store)
}

/// `require` without a root certificate: encrypted, the server's certificate taken as it
/// is (libpq's behaviour; the handshake's signatures are still checked).
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` (and `prefer`/`require` with a root certificate): the chain up to the root
/// certificate is checked, the host name is not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked after the chain: a name error means the chain was good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The URL without its `sslmode` and `sslrootcert` options (which postgres's parser does
/// not take as libpq does), and those options.
pub(crate) fn split_tls_options(url: &str) -> Result<(String, TlsOptions), Error> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), TlsOptions::default()));
    };
    let mut options = TlsOptions::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => options.mode = Some(TlsMode::parse(&percent_decoded(value)?)?),
            "sslrootcert" => options.root_cert = Some(PathBuf::from(percent_decoded(value)?)),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                return Err(Error::PgUrl {
                    message: format!(
                        "option {key}: client certificates are not supported (use a password \
                         or .pgpass)"
                    ),
                });
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, options))
}

/// `%XX` escapes decoded (a path in a URL option).
fn percent_decoded(text: &str) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::PgUrl {
                    message: "a URL option holds a % not followed by two hex digits".to_owned(),
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::PgUrl {
        message: "a URL option is not UTF-8 once decoded".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{TlsMode, split_tls_options};

    #[test]
    fn tls_options_are_taken_out_of_the_url() {
        let (url, options) = split_tls_options(
            "postgres://u@h/db?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?connect_timeout=3");
        assert_eq!(options.mode, Some(TlsMode::VerifyFull));
        assert_eq!(
            options.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca x.pem"))
        );
        let (url, options) = split_tls_options("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(options.mode, Some(TlsMode::Disable));
        assert!(split_tls_options("postgres://u@h/db?sslmode=always").is_err());
        assert!(split_tls_options("postgres://u@h/db?sslcert=/x.pem").is_err());
        assert!(split_tls_options("postgres://u@h/db?sslrootcert=%zz").is_err());
    }

    proptest! {
        /// Any root certificate path survives the URL's escaping.
        #[test]
        fn a_root_certificate_path_round_trips(path in "/[ -~é]{0,40}") {
            let escaped: String = path
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() || b == b'/' { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            let (_, options) =
                split_tls_options(&format!("postgres://u@h/db?sslrootcert={escaped}")).unwrap();
            prop_assert_eq!(options.root_cert, Some(std::path::PathBuf::from(&path)));
        }
    }
}
