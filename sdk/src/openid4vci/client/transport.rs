//! What the SDK asks the host's HTTP stack to do, and how that can fail.

use super::MAX_RESPONSE;

/// An HTTP request the SDK asks the host to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Vec<u8>,
}

/// The host's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (any case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The host's HTTP stack.
pub trait Transport: Send + Sync {
    /// Sends `request` and returns the response, whatever its status; `Err` only when no
    /// response came (no network, TLS failure, timeout).
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Why no response came. The host's HTTP stack says which; the reasons are its own words, for
/// logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection was made: no network, a name that does not resolve, a refused connection.
    #[error("no connection: {0}")]
    Connect(String),
    /// The TLS handshake failed (a certificate not trusted, no common protocol).
    #[error("TLS: {0}")]
    Tls(String),
    /// No response in the time allowed.
    #[error("no response in time")]
    Timeout,
    /// The connection broke while the request or the response was under way.
    #[error("connection broken: {0}")]
    Broken(String),
    /// The response is larger than the SDK reads ([`MAX_RESPONSE`]).
    #[error("the response is larger than {MAX_RESPONSE} bytes")]
    TooLarge,
    /// The transport does not send this method.
    #[error("method {0} is not supported")]
    Method(String),
}
