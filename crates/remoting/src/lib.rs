//! RocketMQ's remoting protocol, as NameServers, brokers and clients speak it over TCP.
//!
//! The codec ([`frame`], [`header`], [`fastjson`], [`body`], [`request`]) is pure: bytes in, typed
//! values out, no sockets. [`codec`] adapts it to tokio; [`connection`] is the async client.

pub mod acl;
pub mod addr;
pub mod body;
pub mod code;
pub mod codec;
pub mod connection;
pub mod error;
pub mod fastjson;
pub mod frame;
pub mod header;
pub mod request;

pub use acl::Credentials;
pub use code::{RequestCode, ResponseCode};
pub use connection::{ConnectOptions, Connection, RequestHandler};
pub use error::{CodecError, Error};
pub use frame::Frame;
pub use header::{Header, SerializeType};
