#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[cfg(feature = "wallet")]
pub mod holder;
pub mod icao;
pub mod jose;
pub mod openid4vci;
pub mod openid4vp;
pub mod relying_party;
pub mod sdjwt;
pub mod status_list;
pub mod trust;
pub mod urlencode;
pub mod vc;
pub mod verifier;
#[cfg(feature = "wallet")]
pub mod wallet;
pub mod x509;
