//! What desktops, scripts, tests and benchmarks need where a phone has its platform's own: the
//! SDK's software keystore ([`software_keystore`]) and the SDK's HTTP client
//! ([`http_transport`]). The offline QR presentation is in [`crate::offline`].

use std::sync::Arc;

use dinhdanh_sdk::wallet::{self as core, KeyStore as _};

#[cfg(feature = "http-transport")]
pub use self::http::http_transport;
use crate::{
    error::{DinhdanhError, invalid},
    platform::{KeyStore, KeyStoreFailure},
};

/// The SDK's software keystore behind the host's keystore interface (also the FFI tests').
pub(crate) struct SoftwareKeys(pub(crate) core::SoftwareKeyStore);

fn failure(error: core::KeyStoreError) -> KeyStoreFailure {
    match error {
        core::KeyStoreError::NotFound(alias) => KeyStoreFailure::NotFound { alias },
        core::KeyStoreError::Unwrap => KeyStoreFailure::Unwrap,
        other => KeyStoreFailure::Refused {
            reason: other.to_string(),
        },
    }
}

impl KeyStore for SoftwareKeys {
    fn generate_signing_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.0.generate_signing_key(&alias).map_err(failure)
    }
    fn public_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.public_key(&alias).map_err(failure)
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.sign(&alias, &message).map_err(failure)
    }
    fn generate_wrapping_key(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.0.generate_wrapping_key(&alias).map_err(failure)
    }
    fn wrap(&self, alias: String, secret: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.wrap(&alias, &secret).map_err(failure)
    }
    fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure> {
        self.0.unwrap(&alias, &wrapped).map_err(failure)
    }
    fn contains(&self, alias: String) -> Result<bool, KeyStoreFailure> {
        self.0.contains(&alias).map_err(failure)
    }
    fn delete(&self, alias: String) -> Result<(), KeyStoreFailure> {
        self.0.delete(&alias).map_err(failure)
    }
}

/// The SDK's software keystore in `dir` (each key a file encrypted under a key derived from
/// `passphrase`): for desktops, tests and benchmarks, where there is no platform keystore. Keys
/// in it are only as safe as the passphrase and the files.
#[uniffi::export]
pub fn software_keystore(
    dir: String,
    passphrase: String,
) -> Result<Arc<dyn KeyStore>, DinhdanhError> {
    let keys =
        core::SoftwareKeyStore::open_with_passphrase(std::path::Path::new(&dir), &passphrase)
            .map_err(invalid)?;
    Ok(Arc::new(SoftwareKeys(keys)))
}

/// The SDK's HTTP client behind the host's transport interface (feature `http-transport`).
#[cfg(feature = "http-transport")]
mod http {
    use std::sync::Arc;

    use dinhdanh_sdk::openid4vci::{
        client::{self as oid4vci, Transport as _},
        http::HttpTransport,
    };

    use crate::platform::{HttpHeader, HttpRequest, HttpResponse, Transport, TransportFailure};

    /// The SDK's HTTP client (HTTPS with the Mozilla root store, 30-second timeouts, no redirects
    /// followed, every status a response) behind the host's transport interface.
    struct SdkTransport(HttpTransport);

    impl Transport for SdkTransport {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
            let request = oid4vci::HttpRequest {
                method: request.method,
                url: request.url,
                headers: request
                    .headers
                    .into_iter()
                    .map(|header| (header.name, header.value))
                    .collect(),
                body: request.body,
            };
            let response = self.0.send(&request).map_err(|error| match error {
                oid4vci::TransportError::Connect(reason) => {
                    TransportFailure::NoConnection { reason }
                }
                oid4vci::TransportError::Tls(reason) => TransportFailure::Tls { reason },
                oid4vci::TransportError::Timeout => TransportFailure::Timeout {
                    reason: error.to_string(),
                },
                other => TransportFailure::Failed {
                    reason: other.to_string(),
                },
            })?;
            Ok(HttpResponse {
                status: response.status,
                headers: response
                    .headers
                    .into_iter()
                    .map(|(name, value)| HttpHeader { name, value })
                    .collect(),
                body: response.body,
            })
        }
    }

    /// The SDK's own HTTP client as a [`Transport`]: for desktops and scripts (a Python wallet needs
    /// no HTTP code of its own). A phone passes its platform's HTTP stack instead, which knows the
    /// device's proxy, VPN and certificate settings (feature `http-transport`, on by default, left
    /// out of the phone builds).
    #[uniffi::export]
    pub fn http_transport() -> Arc<dyn Transport> {
        Arc::new(SdkTransport(HttpTransport::new()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[cfg(feature = "http-transport")]
    #[test]
    fn the_sdk_transport_answers_every_status_and_types_a_refused_connection() {
        use crate::platform::{HttpHeader, HttpRequest, TransportFailure};
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buffer = [0u8; 1024];
            while !seen.windows(5).any(|w| w == b"hello") {
                let read = stream.read(&mut buffer).unwrap();
                assert!(read > 0, "the body never came");
                seen.extend_from_slice(&buffer[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\nx-probe: yes\r\nconnection: close\r\n\r\ngone")
                .unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        let transport = http_transport();
        let response = transport
            .send(HttpRequest {
                method: "POST".into(),
                url: format!("http://{address}/answer"),
                headers: vec![HttpHeader {
                    name: "content-type".into(),
                    value: "text/plain".into(),
                }],
                body: b"hello".to_vec(),
            })
            .unwrap();
        assert_eq!(response.status, 404);
        assert_eq!(response.body, b"gone");
        assert!(
            response
                .headers
                .iter()
                .any(|h| h.name == "x-probe" && h.value == "yes")
        );
        let request = server.join().unwrap();
        assert!(request.starts_with("POST /answer HTTP/1.1"), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("content-type: text/plain")
        );

        // Nothing listens there any more: no connection, typed; a method it does not send.
        let bare = |method: &str| HttpRequest {
            method: method.into(),
            url: format!("http://{address}/"),
            headers: vec![],
            body: vec![],
        };
        let refused = transport.send(bare("GET"));
        assert!(
            matches!(refused, Err(TransportFailure::NoConnection { .. })),
            "{refused:?}"
        );
        let method = transport.send(bare("DELETE"));
        assert!(
            matches!(method, Err(TransportFailure::Failed { .. })),
            "{method:?}"
        );
    }

    #[test]
    fn the_software_keystore_signs_wraps_and_refuses_what_it_must() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let keys = software_keystore(path.clone(), "passphrase".into()).unwrap();
        keys.generate_signing_key("k".into()).unwrap();
        assert_eq!(keys.public_key("k".into()).unwrap().len(), 65);
        assert!(
            !keys
                .sign("k".into(), b"message".to_vec())
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            keys.sign("missing".into(), vec![]),
            Err(KeyStoreFailure::NotFound { .. })
        ));
        keys.generate_wrapping_key("w".into()).unwrap();
        let mut wrapped = keys.wrap("w".into(), b"secret".to_vec()).unwrap();
        assert_eq!(keys.unwrap("w".into(), wrapped.clone()).unwrap(), b"secret");
        let last = wrapped.len() - 1;
        wrapped[last] ^= 1;
        assert!(matches!(
            keys.unwrap("w".into(), wrapped),
            Err(KeyStoreFailure::Unwrap)
        ));
        assert!(keys.contains("k".into()).unwrap());
        keys.delete("k".into()).unwrap();
        assert!(!keys.contains("k".into()).unwrap());
        // Another passphrase does not open the same keystore.
        assert!(software_keystore(path, "another".into()).is_err());
    }
}
