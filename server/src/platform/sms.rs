//! Sending one-time codes by SMS, through an operator's HTTP API ([`HttpGateway`]) or, in
//! development, a file ([`FileSink`]).
//!
//! A message's text carries a one-time code: it is never logged, by either gateway. Logs name
//! the phone by its last three digits ([`masked`]).

use std::{
    future::Future,
    io::Write,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::{Semaphore, mpsc};
use zeroize::Zeroizing;

use crate::platform::config::SmsSettings;

/// A message could not be handed to the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// The gateway's queue is full: messages are arriving faster than it delivers them.
    #[error("the SMS queue is full")]
    QueueFull,
    /// The gateway's worker has stopped.
    #[error("the SMS gateway has stopped")]
    Stopped,
    /// The development sink could not write its file.
    #[error("the SMS sink {path}: {source}")]
    Sink {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The gateway's settings are unusable (a missing token, no async runtime).
    #[error("SMS gateway configuration: {0}")]
    Config(String),
}

/// What a gateway has done since the process started (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmsCounters {
    /// Messages the gateway accepted.
    pub delivered: u64,
    /// Messages given up on (every try failed, or the gateway refused them).
    pub failed: u64,
    /// Tries repeated after a transport error, a 5xx or a 429.
    pub retried: u64,
    /// Messages refused because the queue was full.
    pub refused: u64,
}

/// Delivers text messages to phones (E.164 numbers).
pub trait SmsGateway: Send + Sync {
    /// Hands `text` for `phone` to the gateway. A queueing gateway returns once the message
    /// is queued; delivery failures then show in [`SmsGateway::counters`] and the log.
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

    /// The gateway's counters.
    fn counters(&self) -> SmsCounters;
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    refused: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SmsCounters {
        SmsCounters {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// The last three digits of a phone number, for logs.
pub fn masked(phone: &str) -> String {
    let tail: String = phone
        .chars()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("***{tail}")
}

// --- Development sink ----------------------------------------------------------------------------

/// Development gateway: appends each message as a JSON line `{"at", "to", "text"}` to a file
/// (`<data dir>/sms.log`) so that a developer or a test can read the code. The file holds live
/// codes: it is readable by its owner only (mode 0600, corrected if it was wider).
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    lock: Mutex<()>,
    counters: Counters,
}

impl FileSink {
    /// A sink writing to `path`, which is created (or its mode corrected) now.
    pub fn new(path: PathBuf) -> Result<Self, SmsError> {
        drop(open_private(&path)?);
        Ok(Self {
            path,
            lock: Mutex::new(()),
            counters: Counters::default(),
        })
    }

    fn append(&self, line: &str) -> Result<(), SmsError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| SmsError::Config("sink lock poisoned".into()))?;
        let mut file = open_private(&self.path)?;
        writeln!(file, "{line}").map_err(|source| SmsError::Sink {
            path: self.path.clone(),
            source,
        })
    }
}

/// Opens `path` for appending, created with mode 0600; an existing file's mode is set to 0600.
fn open_private(path: &Path) -> Result<std::fs::File, SmsError> {
    let error = |source| SmsError::Sink {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(error)?;
        // `mode` applies only when the file is created (and under the umask).
        let metadata = file.metadata().map_err(error)?;
        if metadata.permissions().mode() & 0o777 != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(error)?;
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path).map_err(error)
    }
}

impl SmsGateway for FileSink {
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>> {
        Box::pin(async move {
            let line = Zeroizing::new(
                serde_json::json!({ "at": crate::platform::clock::now(), "to": phone, "text": text })
                    .to_string(),
            );
            match self.append(&line) {
                Ok(()) => {
                    Counters::add(&self.counters.delivered);
                    tracing::info!(to = %masked(phone), "development SMS sink: message written");
                    Ok(())
                }
                Err(error) => {
                    Counters::add(&self.counters.failed);
                    Err(error)
                }
            }
        })
    }

    fn counters(&self) -> SmsCounters {
        self.counters.snapshot()
    }
}

// --- HTTP gateway --------------------------------------------------------------------------------

/// How an [`HttpGateway`] reaches the operator's API.
pub struct HttpGatewaySettings {
    /// The endpoint messages are posted to.
    pub url: String,
    /// The bearer token.
    pub token: Zeroizing<String>,
    /// Connecting (TCP and TLS) may take this long.
    pub connect_timeout: Duration,
    /// A whole request may take this long.
    pub request_timeout: Duration,
    /// Tries per message, the first included.
    pub max_attempts: u32,
    /// The wait before the second try; it doubles before each next one (up to a minute).
    pub retry_initial: Duration,
    /// Messages waiting to be handed over; one more is refused.
    pub queue_capacity: usize,
    /// Messages handed over at the same time.
    pub concurrency: usize,
}

impl std::fmt::Debug for HttpGatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpGatewaySettings")
            .field("url", &self.url)
            .field("token", &"[redacted]")
            .field("max_attempts", &self.max_attempts)
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}

impl HttpGatewaySettings {
    /// The settings of `config`, with the token read from its environment variable
    /// (`token_env`, looked up in `vars`) or file (`token_file`).
    pub fn from_config(
        config: &SmsSettings,
        vars: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SmsError> {
        let url = config
            .url
            .clone()
            .ok_or_else(|| SmsError::Config("the http gateway needs a url".into()))?;
        let token = match (&config.token_env, &config.token_file) {
            (Some(name), None) => Zeroizing::new(
                vars(name).ok_or_else(|| SmsError::Config(format!("{name} is not set")))?,
            ),
            (None, Some(path)) => Zeroizing::new(std::fs::read_to_string(path).map_err(
                |source| SmsError::Sink {
                    path: path.clone(),
                    source,
                },
            )?),
            _ => {
                return Err(SmsError::Config(
                    "exactly one of token_env and token_file".into(),
                ));
            }
        };
        let token = Zeroizing::new(token.trim().to_owned());
        if token.is_empty() || token.chars().any(|c| c.is_control()) {
            return Err(SmsError::Config(
                "the gateway token is empty or not text".into(),
            ));
        }
        Ok(Self {
            url,
            token,
            connect_timeout: Duration::from_secs(config.connect_timeout_seconds),
            request_timeout: Duration::from_secs(config.request_timeout_seconds),
            max_attempts: config.max_attempts.max(1),
            retry_initial: Duration::from_millis(config.retry_initial_millis),
            queue_capacity: config.queue_capacity.max(1),
            concurrency: config.concurrency.max(1),
        })
    }
}

/// An operator's SMS API over HTTP(S). Each message is `POST`ed to the configured URL as
/// `{"to": "+84…", "text": "…"}` (`Content-Type: application/json`) with
/// `Authorization: Bearer <token>`; any 2xx answer means accepted.
///
/// Messages go through a bounded queue drained by a worker, so a request never waits for the
/// operator and a slow operator never grows memory: when the queue is full, [`SmsGateway::send`]
/// fails with [`SmsError::QueueFull`]. A transport error (connect, TLS, timeout), a 5xx or a 429
/// is tried again after an exponential backoff, up to `max_attempts` tries; another 4xx is not
/// (the message itself is refused). Messages given up on are counted in
/// `dinhdanh_sms_messages_total{outcome="failed"}` at `/metrics` and logged with the masked
/// number.
pub struct HttpGateway {
    queue: mpsc::Sender<Message>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for HttpGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpGateway").finish_non_exhaustive()
    }
}

struct Message {
    to: String,
    text: Zeroizing<String>,
}

/// The outcome of one try.
enum Attempt {
    Delivered,
    /// Worth another try: a transport error, a 5xx or a 429.
    Transient(String),
    /// Not worth another: the gateway refused this message.
    Refused(u16),
}

impl HttpGateway {
    /// Starts the gateway's worker on the current tokio runtime.
    pub fn start(settings: HttpGatewaySettings) -> Result<Self, SmsError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| SmsError::Config("no async runtime to run the gateway on".into()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .http_status_as_error(false)
            // An operator's API that redirects is misconfigured; following it would send the
            // token elsewhere.
            .max_redirects(0)
            .build()
            .into();
        let (queue, receiver) = mpsc::channel(settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            agent,
            settings: Arc::new(settings),
            counters: counters.clone(),
        };
        runtime.spawn(worker.run(receiver));
        Ok(Self { queue, counters })
    }
}

impl SmsGateway for HttpGateway {
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>> {
        Box::pin(async move {
            let message = Message {
                to: phone.to_owned(),
                text: Zeroizing::new(text.to_owned()),
            };
            self.queue.try_send(message).map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    Counters::add(&self.counters.refused);
                    tracing::warn!(to = %masked(phone), "SMS queue full: message refused");
                    SmsError::QueueFull
                }
                mpsc::error::TrySendError::Closed(_) => SmsError::Stopped,
            })
        })
    }

    fn counters(&self) -> SmsCounters {
        self.counters.snapshot()
    }
}

#[derive(Clone)]
struct Worker {
    agent: ureq::Agent,
    settings: Arc<HttpGatewaySettings>,
    counters: Arc<Counters>,
}

impl Worker {
    /// Drains the queue, `concurrency` messages at a time, until the gateway is dropped.
    async fn run(self, mut receiver: mpsc::Receiver<Message>) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        loop {
            // A slot first: while every slot is busy, messages wait in the bounded queue.
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let Some(message) = receiver.recv().await else {
                return;
            };
            let worker = self.clone();
            tokio::spawn(async move {
                worker.deliver(message).await;
                drop(slot);
            });
        }
    }

    async fn deliver(&self, message: Message) {
        let settings = &self.settings;
        let body = Arc::new(Zeroizing::new(
            serde_json::json!({ "to": message.to, "text": *message.text }).to_string(),
        ));
        let mut delay = settings.retry_initial;
        for attempt in 1..=settings.max_attempts {
            let outcome = {
                let (agent, settings, body) = (self.agent.clone(), settings.clone(), body.clone());
                // ureq blocks: its calls run on the blocking pool, never on the workers.
                tokio::task::spawn_blocking(move || post(&agent, &settings, body.as_bytes()))
                    .await
                    .unwrap_or_else(|e| Attempt::Transient(e.to_string()))
            };
            match outcome {
                Attempt::Delivered => {
                    Counters::add(&self.counters.delivered);
                    return;
                }
                Attempt::Refused(status) => {
                    Counters::add(&self.counters.failed);
                    tracing::error!(to = %masked(&message.to), status, "the SMS gateway refused a message");
                    return;
                }
                Attempt::Transient(error) if attempt < settings.max_attempts => {
                    Counters::add(&self.counters.retried);
                    tracing::warn!(to = %masked(&message.to), attempt, %error, "SMS delivery failed; trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                Attempt::Transient(error) => {
                    Counters::add(&self.counters.failed);
                    tracing::error!(to = %masked(&message.to), attempts = attempt, %error, "SMS delivery failed; giving up");
                }
            }
        }
    }
}

/// One try: the message posted, the answer classified.
fn post(agent: &ureq::Agent, settings: &HttpGatewaySettings, body: &[u8]) -> Attempt {
    let authorization = Zeroizing::new(format!("Bearer {}", settings.token.as_str()));
    let response = agent
        .post(&settings.url)
        .header("Authorization", authorization.as_str())
        .header("Content-Type", "application/json")
        .send(body);
    match response {
        Ok(mut response) => {
            let status = response.status().as_u16();
            // Read (a little of) the answer so the connection can be reused.
            let _ = response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec();
            match status {
                200..=299 => Attempt::Delivered,
                429 | 500..=599 => Attempt::Transient(format!("HTTP {status}")),
                _ => Attempt::Refused(status),
            }
        }
        Err(error) => Attempt::Transient(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_three_digits() {
        assert_eq!(masked("+84912345678"), "***678");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_sink_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sms.log");
        // A file left wider by an earlier version is corrected.
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let sink = FileSink::new(path.clone()).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        sink.send("+84912345678", "code 123456").await.unwrap();
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        assert_eq!(line["to"], "+84912345678");
        assert_eq!(line["text"], "code 123456");
        assert!(line["at"].is_i64());
        assert_eq!(sink.counters().delivered, 1);
    }
}
