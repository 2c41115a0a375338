//! Sending one-time codes by SMS. The gateway is a trait so that an operator's SMS API can be
//! plugged in; development uses a sink that writes to a file and to the log.

use std::{future::Future, io::Write, path::PathBuf, pin::Pin, sync::Mutex};

/// A message could not be handed to the gateway.
#[derive(Debug, thiserror::Error)]
#[error("the SMS gateway failed: {0}")]
pub struct SmsError(pub String);

/// Delivers text messages to phones (E.164 numbers).
pub trait SmsGateway: Send + Sync {
    /// Sends `text` to `phone`.
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;
}

/// Development gateway: appends each message as a JSON line to a file (`./data/sms.log` by
/// default) and writes it to the log, so that a developer or a test can read the code.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileSink {
    /// A sink writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
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

impl SmsGateway for FileSink {
    fn send<'a>(
        &'a self,
        phone: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>> {
        Box::pin(async move {
            let line = serde_json::json!({ "at": crate::clock::now(), "to": phone, "text": text });
            {
                let _guard = self
                    .lock
                    .lock()
                    .map_err(|_| SmsError("sink lock poisoned".into()))?;
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(|e| SmsError(e.to_string()))?;
                writeln!(file, "{line}").map_err(|e| SmsError(e.to_string()))?;
            }
            tracing::info!(to = %masked(phone), text, "development SMS sink");
            Ok(())
        })
    }
}
