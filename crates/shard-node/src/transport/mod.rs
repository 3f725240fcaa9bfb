//! QUIC transport: frames, mutual TLS, and the endpoint.

pub mod endpoint;
pub mod frame;
pub mod tls;

pub use endpoint::{Handler, Transport};
pub use tls::TlsIdentity;
