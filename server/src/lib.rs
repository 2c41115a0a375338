#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod app;
pub mod domain;
pub mod http;
pub mod platform;
pub mod store;
pub mod verifier;

pub use domain::Services;
pub use http::{router, serve};
