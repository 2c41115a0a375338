//! OpenID for Verifiable Presentations 1.0: the Digital Credentials Query Language ([`dcql`]).

pub mod dcql;
