#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[cfg(feature = "signatures")]
pub mod cms;
#[cfg(feature = "wallet")]
pub mod holder;
pub mod icao;
pub mod jose;
pub mod openid4vci;
pub mod openid4vp;
#[cfg(feature = "signatures")]
pub mod pades;
pub mod relying_party;
pub mod sdjwt;
#[cfg(feature = "signatures")]
pub mod signatures;
pub mod status_list;
pub mod trust;
#[cfg(feature = "signatures")]
pub mod tsp;
pub mod urlencode;
pub mod vc;
pub mod verifier;
#[cfg(feature = "wallet")]
pub mod wallet;
pub mod x509;
