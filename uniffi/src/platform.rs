//! What the host platform supplies, as foreign traits: the keystore ([`KeyStore`]: Android
//! Keystore, the Secure Enclave) and the HTTP stack ([`Transport`]); and their adapters to the
//! SDK's traits.

use std::sync::Arc;

use dinhdanh_sdk::{openid4vci::client as oid4vci, wallet as core};

// --- The platform's keystore --------------------------------------------------------------------

/// Why the platform keystore failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreFailure {
    /// No key has this alias.
    #[error("no key named {alias}")]
    NotFound {
        /// The alias.
        alias: String,
    },
    /// A wrapped secret did not unwrap.
    #[error("the wrapped secret does not open")]
    Unwrap,
    /// Anything else (the user cancelled, the device is locked, hardware failure).
    #[error("{reason}")]
    Refused {
        /// What happened.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreFailure {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Refused {
            reason: error.reason,
        }
    }
}

/// The platform keystore (Android Keystore, the Secure Enclave), implemented by the host. Keys
/// are named by alias; private keys never leave it.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// Makes a P-256 signing key under `alias`.
    fn generate_signing_key(&self, alias: String) -> Result<(), KeyStoreFailure>;
    /// The public key of `alias`, SEC1 uncompressed (65 bytes).
    fn public_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreFailure>;
    /// An ECDSA P-256 SHA-256 signature of `message`: DER, or `r || s`.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Makes a symmetric wrapping key under `alias` (AES-256-GCM).
    fn generate_wrapping_key(&self, alias: String) -> Result<(), KeyStoreFailure>;
    /// Encrypts `secret` under the wrapping key `alias`.
    fn wrap(&self, alias: String, secret: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Decrypts what `wrap` made.
    fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFailure>;
    /// Whether a key has this alias.
    fn contains(&self, alias: String) -> Result<bool, KeyStoreFailure>;
    /// Deletes the key `alias` (no error if there is none).
    fn delete(&self, alias: String) -> Result<(), KeyStoreFailure>;
}

/// The host's keystore seen as the SDK's.
pub(crate) struct HostKeys(pub(crate) Arc<dyn KeyStore>);

fn keystore_error(error: KeyStoreFailure) -> core::KeyStoreError {
    match error {
        KeyStoreFailure::NotFound { alias } => core::KeyStoreError::NotFound(alias),
        KeyStoreFailure::Unwrap => core::KeyStoreError::Unwrap,
        KeyStoreFailure::Refused { reason } => core::KeyStoreError::Refused(reason),
    }
}

impl core::KeyStore for HostKeys {
    fn generate_signing_key(&self, alias: &str) -> Result<(), core::KeyStoreError> {
        self.0
            .generate_signing_key(alias.into())
            .map_err(keystore_error)
    }
    fn public_key(&self, alias: &str) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0.public_key(alias.into()).map_err(keystore_error)
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0
            .sign(alias.into(), message.to_vec())
            .map_err(keystore_error)
    }
    fn generate_wrapping_key(&self, alias: &str) -> Result<(), core::KeyStoreError> {
        self.0
            .generate_wrapping_key(alias.into())
            .map_err(keystore_error)
    }
    fn wrap(&self, alias: &str, secret: &[u8]) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0
            .wrap(alias.into(), secret.to_vec())
            .map_err(keystore_error)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<Vec<u8>, core::KeyStoreError> {
        self.0
            .unwrap(alias.into(), wrapped.to_vec())
            .map_err(keystore_error)
    }
    fn contains(&self, alias: &str) -> Result<bool, core::KeyStoreError> {
        self.0.contains(alias.into()).map_err(keystore_error)
    }
    fn delete(&self, alias: &str) -> Result<(), core::KeyStoreError> {
        self.0.delete(alias.into()).map_err(keystore_error)
    }
}

// --- The host's HTTP stack ----------------------------------------------------------------------

/// A header.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A request the SDK asks the host to send.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Vec<u8>,
}

/// The response, whatever its status.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why no response came.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TransportFailure {
    /// No connection was made (no network, a name that does not resolve, refused).
    #[error("no connection: {reason}")]
    NoConnection {
        /// What happened.
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("TLS: {reason}")]
    Tls {
        /// What happened.
        reason: String,
    },
    /// No response in time.
    #[error("timed out: {reason}")]
    Timeout {
        /// What happened.
        reason: String,
    },
    /// Anything else: the connection broke while the exchange was under way.
    #[error("{reason}")]
    Failed {
        /// What happened.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportFailure {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            reason: error.reason,
        }
    }
}

/// The host's HTTP stack.
#[uniffi::export(with_foreign)]
pub trait Transport: Send + Sync {
    /// Sends `request`; any status is a response, `Err` only when none came.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure>;
}

/// The host's HTTP stack seen as the SDK's.
pub(crate) struct HostTransport(pub(crate) Arc<dyn Transport>);

fn transport_error(error: TransportFailure) -> oid4vci::TransportError {
    match error {
        TransportFailure::NoConnection { reason } => oid4vci::TransportError::Connect(reason),
        TransportFailure::Tls { reason } => oid4vci::TransportError::Tls(reason),
        TransportFailure::Timeout { .. } => oid4vci::TransportError::Timeout,
        TransportFailure::Failed { reason } => oid4vci::TransportError::Broken(reason),
    }
}

fn headers(headers: &[(String, String)]) -> Vec<HttpHeader> {
    headers
        .iter()
        .map(|(name, value)| HttpHeader {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

impl oid4vci::Transport for HostTransport {
    fn send(
        &self,
        request: &oid4vci::HttpRequest,
    ) -> Result<oid4vci::HttpResponse, oid4vci::TransportError> {
        let response = self
            .0
            .send(HttpRequest {
                method: request.method.clone(),
                url: request.url.clone(),
                headers: headers(&request.headers),
                body: request.body.clone(),
            })
            .map_err(transport_error)?;
        Ok(oid4vci::HttpResponse {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: response.body,
        })
    }
}
