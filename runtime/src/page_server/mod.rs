//! CRIU's page server, both directions: a client that sends our bounded-buffer reader's pages
//! to `criu page-server` (or ours) in rounds, and a server that `criu dump --page-server` sends
//! to, writing images `criu restore` accepts.
//!
//! * [`wire`]: the protocol, in one place for both directions (headers, commands, `dst_id`,
//!   flags, the close handshake), decoded totally;
//! * [`client`]: the transport of the sending side ([`Connection`]); the reader that feeds it is
//!   [`procmem::dump_to_page_server`](crate::procmem::dump_to_page_server);
//! * [`record`]: what the client keeps between rounds (page digests) to send unchanged pages
//!   as `PE_PARENT` without having their old contents;
//! * [`server`]: the receiving side ([`Server`], [`serve`]).
//!
//! Both sides make a round that did not end with the close handshake unusable: the server writes
//! under temporary names and renames at `PS_IOV_CLOSE`; the client's record is only replaced
//! after the server's status, and a client that gives up mid-round leaves CRIU's own server a
//! pagemap that cannot be restored from ([`Connection::abandon`]).

pub mod client;
mod error;
pub mod record;
pub mod server;
pub mod wire;

pub use client::Connection;
pub use error::{Error, Violation};
pub use server::{ImageSummary, Server, ServerOptions, SessionSummary, serve};
pub use wire::ImageId;
