//! Infrastructure every layer may use: the clock, secrets (keys, digests, MACs), configuration,
//! metrics, SMS delivery, the network's trusted proxies, and the progress of operator commands.

pub mod clock;
pub mod config;
pub mod metrics;
pub mod net;
pub mod progress;
pub mod secrets;
pub mod sms;
