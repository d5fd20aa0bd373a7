//! TLS: the listener's certificate (PEM files given, or a local CA and a leaf for
//! `localhost`, `127.0.0.1` and `::1` made once and reused), and the upstream client's trust roots.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::TlsSource;

/// The names the automatic leaf is valid for.
pub const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A ready listener configuration, and the CA clients should trust (automatic mode).
pub struct ListenerTls {
    pub config: Arc<rustls::ServerConfig>,
    pub ca: Option<PathBuf>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The listeners' configuration around a certificate: TLS 1.2 and 1.3, ALPN h2 and http/1.1,
/// AES-128-GCM preferred over the client's first choice (SDKs and OpenSSL ask for AES-256
/// first). Replay answers are pages of ~20 KB: AES-128 (10 rounds instead of 14) makes each
/// cheaper to encrypt here and to decrypt in the client, at a strength that is plenty for a
/// loopback test proxy.
fn listener_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    // A stable sort: the AES-128-GCM suites (TLS 1.3 and 1.2) first, the rest as they were.
    provider.cipher_suites.sort_by_key(|s| {
        !matches!(
            s.suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
                | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    });
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.ignore_client_order = true;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The listener's TLS configuration: TLS 1.2 and 1.3, ALPN h2 and http/1.1.
pub fn listener(source: &TlsSource) -> Result<ListenerTls, TlsError> {
    let (cert, key, ca) = match source {
        TlsSource::Files { cert, key } => (cert.clone(), key.clone(), None),
        TlsSource::Auto { dir } => {
            let ca = LocalCa::open(dir)?;
            let (cert, key) = ca.local_leaf()?;
            (cert, key, Some(ca.cert_path()))
        }
    };
    let file_err = |path: &Path, message: String| TlsError::File {
        path: path.to_owned(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .map_err(|e| file_err(&cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(&cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_err(&cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| file_err(&key, e.to_string()))?;
    Ok(ListenerTls {
        config: Arc::new(listener_config(chain, key_der)?),
        ca,
    })
}

/// A listener configuration from a PEM certificate chain and key held in memory.
pub fn server_config_from_pem(
    cert: &[u8],
    key: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let err = |m: String| TlsError::File {
        path: PathBuf::from("(minted)"),
        message: m,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(listener_config(chain, key)?))
}

/// The upstream client's roots: the system's, webpki's, and `extra` (a PEM file of CAs).
pub fn client_config(extra: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra {
        let err = |m: String| TlsError::File {
            path: path.to_owned(),
            message: m,
        };
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))? {
            roots
                .add(cert.map_err(|e| err(e.to_string()))?)
                .map_err(|e| err(e.to_string()))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The tool's own CA, kept in the state directory.
pub struct LocalCa {
    dir: PathBuf,
    key: KeyPair,
}

impl LocalCa {
    /// Load the CA from `dir`, or make it there.
    pub fn open(dir: &Path) -> Result<LocalCa, TlsError> {
        let err = |path: &Path, e: std::io::Error| TlsError::File {
            path: path.to_owned(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let key_path = dir.join("ca-key.pem");
        let cert_path = dir.join("ca.pem");
        if key_path.exists() && cert_path.exists() {
            let pem = std::fs::read_to_string(&key_path).map_err(|e| err(&key_path, e))?;
            let key = KeyPair::from_pem(&pem)?;
            return Ok(LocalCa {
                dir: dir.into(),
                key,
            });
        }
        let key = KeyPair::generate()?;
        let cert = ca_params().self_signed(&key)?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_file(&cert_path, cert.pem().as_bytes())?;
        Ok(LocalCa {
            dir: dir.into(),
            key,
        })
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A leaf for `names`, signed by this CA: (certificate PEM, key PEM).
    pub fn mint(&self, names: &[&str]) -> Result<(String, String), TlsError> {
        let key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("cognito-vcr"),
        );
        params.distinguished_name = dn;
        let issuer = Issuer::new(ca_params(), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The leaf for the local names, made once and reused: (certificate path, key path).
    fn local_leaf(&self) -> Result<(PathBuf, PathBuf), TlsError> {
        let cert = self.dir.join("localhost.pem");
        let key = self.dir.join("localhost-key.pem");
        if !(cert.exists() && key.exists()) {
            let (c, k) = self.mint(LOCAL_NAMES)?;
            write_private(&key, k.as_bytes())?;
            write_file(&cert, c.as_bytes())?;
        }
        Ok((cert, key))
    }
}

/// The CA's parameters; the same every time, so a saved key is all it takes to sign again.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "cognito-vcr local CA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    std::fs::write(path, bytes).map_err(|e| TlsError::File {
        path: path.into(),
        message: e.to_string(),
    })
}

/// Private keys are readable by their owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| TlsError::File {
            path: path.into(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_ca_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = listener(&TlsSource::Auto {
            dir: dir.path().into(),
        })
        .unwrap();
        let ca = first.ca.clone().unwrap();
        let ca_pem = std::fs::read(&ca).unwrap();
        let leaf_pem = std::fs::read(dir.path().join("localhost.pem")).unwrap();
        let second = listener(&TlsSource::Auto {
            dir: dir.path().into(),
        })
        .unwrap();
        assert_eq!(second.ca.unwrap(), ca);
        assert_eq!(std::fs::read(&ca).unwrap(), ca_pem);
        assert_eq!(
            std::fs::read(dir.path().join("localhost.pem")).unwrap(),
            leaf_pem
        );
        assert_eq!(
            first.config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("ca-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the CA key is private");
        }
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        let err = listener(&TlsSource::Files {
            cert: cert.clone(),
            key: dir.path().join("key.pem"),
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("cert.pem"), "{err}");
    }
}
