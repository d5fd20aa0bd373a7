//! TLS: the listener's certificate (PEM files given, or a local CA and a leaf for
//! `localhost`, `127.0.0.1` and `::1`), and the upstream client's trust roots.
//!
//! The local CA can vouch only for what it serves: X.509 name constraints permit `localhost`,
//! 127.0.0.0/8, ::1 and the Cognito regional hosts it may intercept, no more; it signs no other
//! CA (path length 0); it is valid for about a year, its leaves for a month (re-minted); leaves
//! are for server authentication only. Its key is readable by its owner only, and a key file
//! that others can read or that another user owns is refused.

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::TlsSource;
use crate::files;

/// The names the automatic leaf is valid for.
pub(crate) const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// The regions whose Cognito hosts (`cognito-idp.<region>.amazonaws.com`,
/// `cognito-identity.<region>.amazonaws.com`, the user pools' domains
/// `<prefix>.auth.<region>.amazoncognito.com`) the CA may vouch for.
pub(crate) const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// How long the CA is valid, and when a new one is made in its place.
const CA_VALIDITY: Duration = Duration::from_secs(400 * 24 * 3600);
const CA_RENEW_AFTER: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long a leaf is valid, and when the listener's is minted again.
const LEAF_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
const LEAF_RENEW_AFTER: Duration = Duration::from_secs(15 * 24 * 3600);
/// Marks a CA made with the constraints above (a CA made before has no such file).
const CA_GENERATION: &str = "ca.generation";
/// The CA's certificate (what clients trust) and key, in the state directory.
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca-key.pem";
const GENERATION: &str =
    "4: name-constrained (cognito-idp, cognito-identity, auth.<region>.amazoncognito.com), path length 0, one year\n";

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
pub(crate) struct ListenerTls {
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
pub(crate) fn listener(source: &TlsSource) -> Result<ListenerTls, TlsError> {
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
pub(crate) fn server_config_from_pem(
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
        files::state_dir(dir).map_err(|e| err(dir, e))?;
        // One process at a time decides and (re)makes the CA: test workers starting at once
        // must not leave one's key beside another's certificate.
        let _lock = lock_state_dir(dir)?;
        let key_path = dir.join(CA_KEY);
        let cert_path = LocalCa::cert_path_in(dir);
        let generation = dir.join(CA_GENERATION);
        let current = key_path.exists()
            && cert_path.exists()
            && std::fs::read_to_string(&generation).is_ok_and(|g| g == GENERATION)
            && age(&cert_path) < CA_RENEW_AFTER;
        if current {
            check_private(&key_path)?;
            // What clients are told to trust: never a file another user could have written.
            files::check_trusted(&cert_path).map_err(|e| err(&cert_path, e))?;
            let pem = std::fs::read_to_string(&key_path).map_err(|e| err(&key_path, e))?;
            let key = KeyPair::from_pem(&pem)?;
            return Ok(LocalCa {
                dir: dir.into(),
                key,
            });
        }
        if cert_path.exists() {
            tracing::warn!(
                "made a new local CA in {} (name-constrained, valid for a year): the old {} can be removed from any trust store it was added to",
                dir.display(),
                cert_path.display()
            );
        }
        let key = KeyPair::generate()?;
        let mut params = ca_params();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + CA_VALIDITY;
        let cert = params.self_signed(&key)?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_file(&cert_path, cert.pem().as_bytes())?;
        write_file(&generation, GENERATION.as_bytes())?;
        // Leaves of the old CA go with it.
        let _ = std::fs::remove_file(dir.join("localhost.pem"));
        let _ = std::fs::remove_file(dir.join("localhost-key.pem"));
        Ok(LocalCa {
            dir: dir.into(),
            key,
        })
    }

    /// The CA certificate clients should trust (`AWS_CA_BUNDLE`).
    pub fn cert_path(&self) -> PathBuf {
        LocalCa::cert_path_in(&self.dir)
    }

    /// Where the CA of state directory `dir` keeps its certificate.
    pub fn cert_path_in(dir: &Path) -> PathBuf {
        dir.join(CA_CERT)
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
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + LEAF_VALIDITY;
        let issuer = Issuer::new(ca_params(), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The leaf for the local names, made once and reused: (certificate path, key path).
    fn local_leaf(&self) -> Result<(PathBuf, PathBuf), TlsError> {
        let _lock = lock_state_dir(&self.dir)?;
        let cert = self.dir.join("localhost.pem");
        let key = self.dir.join("localhost-key.pem");
        if !(cert.exists() && key.exists()) || age(&cert) >= LEAF_RENEW_AFTER {
            let (c, k) = self.mint(LOCAL_NAMES)?;
            write_private(&key, k.as_bytes())?;
            write_file(&cert, c.as_bytes())?;
        }
        check_private(&key)?;
        Ok((cert, key))
    }
}

/// The CA's parameters; the same every time, so a saved key is all it takes to sign again.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "cognito-vcr local CA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let mut permitted = vec![
        GeneralSubtree::DnsName("localhost".into()),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
            std::net::Ipv6Addr::LOCALHOST.octets(),
            128,
        )),
    ];
    permitted.extend(REGIONS.iter().flat_map(|r| {
        [
            format!("cognito-idp.{r}.amazonaws.com"),
            format!("cognito-identity.{r}.amazonaws.com"),
            // Every user pool's domain in the region (a subtree: `<prefix>.auth...`).
            format!("auth.{r}.amazoncognito.com"),
        ]
        .map(GeneralSubtree::DnsName)
    }));
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// A file of the state directory others may read (a certificate): made anew, never through a
/// planted link.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    files::create_new(path, 0o644)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| file_error(path, e))
}

fn file_error(path: &Path, e: std::io::Error) -> TlsError {
    TlsError::File {
        path: path.into(),
        message: e.to_string(),
    }
}

/// The state directory's lock, held while the CA or a leaf is checked or made.
fn lock_state_dir(dir: &Path) -> Result<std::fs::File, TlsError> {
    files::lock_state_dir(dir).map_err(|e| file_error(&files::state_lock_path(dir), e))
}

fn check_private(key: &Path) -> Result<(), TlsError> {
    files::check_private(key).map_err(|e| file_error(key, e))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    files::write_private(path, bytes).map_err(|e| file_error(path, e))
}

/// How long ago a file was last written (a file that cannot be read counts as new).
fn age(path: &Path) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a client trusting only `ca` accepts `cert` for `name`.
    fn verifies(ca: &Path, cert: &str, name: &str) -> bool {
        use rustls::client::danger::ServerCertVerifier;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
        verifier
            .verify_server_cert(&der, &[], &name, &[], rustls::pki_types::UnixTime::now())
            .is_ok()
    }

    #[test]
    fn the_local_ca_vouches_only_for_what_it_serves() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::open(dir.path()).unwrap();
        let ca_pem = ca.cert_path();
        for ok in [
            "localhost",
            "127.0.0.1",
            "cognito-idp.eu-west-1.amazonaws.com",
            "cognito-identity.eu-west-1.amazonaws.com",
            "my-app.auth.eu-west-1.amazoncognito.com",
        ] {
            let (cert, _) = ca.mint(&[ok]).unwrap();
            assert!(verifies(&ca_pem, &cert, ok), "{ok}");
        }
        for bad in [
            "example.com",
            "s3.us-east-1.amazonaws.com",
            "10.0.0.1",
            "my-app.amazoncognito.com",
            "cognito-identity.us-east-1.amazoncognito.com",
        ] {
            let (cert, _) = ca.mint(&[bad]).unwrap();
            assert!(!verifies(&ca_pem, &cert, bad), "{bad}");
        }
    }

    #[test]
    fn a_ca_key_others_can_read_is_refused_and_an_old_ca_is_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::open(dir.path()).unwrap();
        let key = dir.path().join("ca-key.pem");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = LocalCa::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("readable by others"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let before = std::fs::read(ca.cert_path()).unwrap();
        assert!(LocalCa::open(dir.path()).is_ok());
        assert_eq!(
            std::fs::read(ca.cert_path()).unwrap(),
            before,
            "a current CA is kept"
        );
        // A CA of before the constraints (no generation mark) is made anew.
        std::fs::remove_file(dir.path().join(CA_GENERATION)).unwrap();
        LocalCa::open(dir.path()).unwrap();
        assert_ne!(std::fs::read(ca.cert_path()).unwrap(), before);
    }

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
