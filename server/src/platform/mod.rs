//! Infrastructure every layer may use: the clock, secrets (keys, digests, MACs), configuration,
//! metrics, SMS delivery and the network's trusted proxies.

pub mod clock;
pub mod config;
pub mod metrics;
pub mod net;
pub mod secrets;
pub mod sms;
