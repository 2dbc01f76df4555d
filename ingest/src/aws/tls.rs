//! The trust roots of the lake's S3 client.
//!
//! object_store's HTTP client reads and parses the system's root
//! certificates each time a store is built (the PEM bundle, then the
//! directory of the same certificates: 18 million instructions on a Debian
//! machine), and the AWS SDK's client parses them once more. The two were
//! 89 % of a Lambda's cold start (docs/performance.md). Against AWS's own S3
//! endpoints the lake's client trusts the Mozilla root program compiled into
//! the binary instead (`webpki-roots`, the list Debian's and Amazon Linux's
//! `ca-certificates` are made from; S3's certificates chain to the Amazon
//! roots in it), which costs nothing to load.
//!
//! The system's roots stay wherever a private CA may be in play: an S3
//! endpoint of its own (an S3-compatible store, an emulator), a trust store
//! named by `SSL_CERT_FILE` or `SSL_CERT_DIR`, or an HTTPS proxy in the
//! environment (one that inspects TLS signs with a CA of the site's own).

use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::{ClientConfigKey, ClientOptions};

/// Which root certificates the lake's S3 client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The Mozilla roots compiled into the binary.
    Bundled,
    /// The system's, read when the client is built.
    System,
}

/// The environment variables that keep the system's roots: a trust store
/// of the machine's choosing, or a proxy that may re-sign TLS.
const SYSTEM_ROOTS_VARS: [&str; 6] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The roots for a store at `endpoint` (`None`: AWS's own) in an
/// environment read by `var`.
pub fn roots(endpoint: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Roots {
    let named = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if endpoint.is_some() || SYSTEM_ROOTS_VARS.into_iter().any(named) {
        Roots::System
    } else {
        Roots::Bundled
    }
}

/// object_store's reqwest client with the bundled roots only, built from
/// the options as object_store builds its own (the user agent aside): HTTPS only unless
/// `allow_http` (the credentials endpoints of ECS and EC2 are plain HTTP),
/// the timeouts, HTTP/1 only, no transparent decompression (object sizes
/// come from `Content-Length`).
#[derive(Debug, Default)]
pub struct BundledRoots;

impl HttpConnector for BundledRoots {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let value = |key: ClientConfigKey| options.get_config_value(&key);
        let duration = |key: ClientConfigKey| {
            value(key)
                .map(|v| humantime::parse_duration(&v).map_err(|e| generic(format!("{v}: {e}"))))
                .transpose()
        };
        let mut builder = reqwest::Client::builder()
            .tls_built_in_native_certs(false)
            .tls_built_in_webpki_certs(true)
            .user_agent(concat!("accesslake/", env!("CARGO_PKG_VERSION")))
            .https_only(value(ClientConfigKey::AllowHttp).as_deref() != Some("true"))
            .no_gzip()
            .no_brotli()
            .no_zstd()
            .no_deflate();
        if let Some(t) = duration(ClientConfigKey::ConnectTimeout)? {
            builder = builder.connect_timeout(t);
        }
        if let Some(t) = duration(ClientConfigKey::Timeout)? {
            builder = builder.timeout(t);
        }
        if value(ClientConfigKey::Http1Only).as_deref() == Some("true") {
            builder = builder.http1_only();
        }
        let client = builder.build().map_err(|e| generic(e.to_string()))?;
        Ok(HttpClient::new(client))
    }
}

/// The connector of a store at `endpoint` in this process's environment.
pub(crate) fn connector(endpoint: Option<&str>) -> Connector {
    Connector(roots(endpoint, |name| std::env::var(name).ok()))
}

/// object_store's own client ([`Roots::System`]) or [`BundledRoots`].
#[derive(Debug)]
pub struct Connector(pub Roots);

impl HttpConnector for Connector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        match self.0 {
            Roots::Bundled => BundledRoots.connect(options),
            Roots::System => ReqwestConnector::default().connect(options),
        }
    }
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::Duration;

    use object_store::client::HttpRequestBody;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn aws_s3_gets_the_bundled_roots_and_private_cas_keep_the_systems() {
        assert_eq!(
            roots(None, env(&[("AWS_REGION", "eu-west-1")])),
            Roots::Bundled
        );
        assert_eq!(roots(None, env(&[("SSL_CERT_FILE", "")])), Roots::Bundled);
        assert_eq!(
            roots(Some("https://minio.internal:9000"), env(&[])),
            Roots::System
        );
        for var in SYSTEM_ROOTS_VARS {
            assert_eq!(roots(None, env(&[(var, "/x")])), Roots::System, "{var}");
        }
    }

    #[test]
    fn the_bundled_roots_hold_the_amazon_roots_s3_chains_to() {
        let subjects: Vec<String> = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(name)),
                "{name} missing from the bundled roots"
            );
        }
    }

    #[test]
    fn the_lake_client_sets_no_option_the_bundled_client_leaves_out() {
        let default = ClientOptions::new();
        for options in [
            super::super::client_options(None),
            super::super::client_options(Some("http://127.0.0.1:5000")),
        ] {
            for key in ALL_KEYS {
                if !CARRIED.contains(&key) {
                    assert_eq!(
                        options.get_config_value(&key),
                        default.get_config_value(&key),
                        "{key:?} is set but not carried over"
                    );
                }
            }
        }
    }

    /// The settings of [`ClientOptions`] that [`BundledRoots`] carries over
    /// to its client; any other is left at reqwest's default.
    const CARRIED: [ClientConfigKey; 4] = [
        ClientConfigKey::AllowHttp,
        ClientConfigKey::ConnectTimeout,
        ClientConfigKey::Timeout,
        ClientConfigKey::Http1Only,
    ];

    const ALL_KEYS: [ClientConfigKey; 18] = [
        ClientConfigKey::AllowHttp,
        ClientConfigKey::AllowInvalidCertificates,
        ClientConfigKey::ConnectTimeout,
        ClientConfigKey::DefaultContentType,
        ClientConfigKey::Http1Only,
        ClientConfigKey::Http2KeepAliveInterval,
        ClientConfigKey::Http2KeepAliveTimeout,
        ClientConfigKey::Http2KeepAliveWhileIdle,
        ClientConfigKey::Http2MaxFrameSize,
        ClientConfigKey::Http2Only,
        ClientConfigKey::PoolIdleTimeout,
        ClientConfigKey::PoolMaxIdlePerHost,
        ClientConfigKey::ProxyUrl,
        ClientConfigKey::ProxyCaCertificate,
        ClientConfigKey::ProxyExcludes,
        ClientConfigKey::RandomizeAddresses,
        ClientConfigKey::Timeout,
        ClientConfigKey::UserAgent,
    ];

    /// One HTTP/1.1 exchange on a local socket: the request's head, and
    /// `reply` written back.
    fn serve_once(reply: &'static [u8]) -> (String, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/bucket/key", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                socket.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            socket.write_all(reply).unwrap();
            String::from_utf8(head).unwrap()
        });
        (url, server)
    }

    fn get(url: &str) -> http::Request<HttpRequestBody> {
        http::Request::get(url)
            .body(HttpRequestBody::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn plain_http_is_sent_only_when_the_options_allow_it() {
        let allowed = ClientOptions::new()
            .with_allow_http(true)
            .with_connect_timeout(Duration::from_secs(1));
        let client = BundledRoots.connect(&allowed).unwrap();
        let (url, server) = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        let response = client.execute(get(&url)).await.unwrap();
        assert_eq!(response.status(), 200);
        let head = server.join().unwrap();
        assert!(head.starts_with("GET /bucket/key HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("user-agent: accesslake/"), "{head}");

        let refused = BundledRoots
            .connect(&super::super::client_options(None))
            .unwrap();
        let err = refused.execute(get(&url)).await.unwrap_err();
        assert!(format!("{err:?}").contains("BadScheme"), "{err:?}");
    }

    #[tokio::test]
    async fn the_request_timeout_is_carried_over() {
        let options = ClientOptions::new()
            .with_allow_http(true)
            .with_timeout(Duration::from_millis(200));
        let client = BundledRoots.connect(&options).unwrap();
        // Accepted by the kernel, never answered.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        let outcome = tokio::time::timeout(Duration::from_secs(20), client.execute(get(&url)))
            .await
            .expect("the client's own timeout ends the request");
        let err = outcome.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("timed out")
                || format!("{err:?}").contains("Timeout"),
            "{err:?}"
        );
        drop(listener);
    }

    #[test]
    fn a_bad_duration_is_an_error_not_a_panic() {
        let options = ClientOptions::new().with_config(ClientConfigKey::Timeout, "soon");
        let err = BundledRoots.connect(&options).unwrap_err();
        assert!(err.to_string().contains("soon"), "{err}");
    }
}
