//! [`HttpTransport`]: a default [`Transport`] for desktops and tests (feature `http-transport`),
//! over `ureq` with rustls and the Mozilla root store. Phones pass their platform's HTTP stack
//! instead.

use std::time::Duration;

use super::client::{HttpRequest, HttpResponse, MAX_RESPONSE, Transport, TransportError};

/// Blocking HTTP(S): 30-second timeouts, no redirects followed (an OAuth redirect is the
/// caller's to handle), every status returned as a response.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    agent: ureq::Agent,
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTransport {
    /// A transport with the default settings.
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .max_redirects(0)
            // Servers close idle connections (dinhdanh-server after its 10 s header deadline):
            // a pooled connection older than that would meet a closed socket.
            .max_idle_age(Duration::from_secs(5))
            .build()
            .into();
        Self { agent }
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        fn with_headers<B>(
            builder: ureq::RequestBuilder<B>,
            headers: &[(String, String)],
        ) -> ureq::RequestBuilder<B> {
            headers.iter().fold(builder, |builder, (name, value)| {
                builder.header(name, value)
            })
        }
        let response = match request.method.as_str() {
            "GET" => with_headers(self.agent.get(&request.url), &request.headers).call(),
            "POST" => with_headers(self.agent.post(&request.url), &request.headers)
                .send(&request.body[..]),
            other => return Err(TransportError::Method(other.to_owned())),
        };
        let mut response = response.map_err(transport_error)?;
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE as u64)
            .read_to_vec()
            .map_err(transport_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// What ureq's failure means to the SDK.
fn transport_error(error: ureq::Error) -> TransportError {
    match error {
        ureq::Error::Timeout(_) => TransportError::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            TransportError::Connect(error.to_string())
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            TransportError::Tls(error.to_string())
        }
        ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge,
        ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::TimedOut => {
            TransportError::Timeout
        }
        ureq::Error::Io(ref io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
            ) =>
        {
            TransportError::Connect(error.to_string())
        }
        other => TransportError::Broken(other.to_string()),
    }
}
