//! The sending side of a session: connect, ask about parents, open an image, send runs straight
//! from the caller's buffer (one `writev` for many headers and their pages, no staging copy),
//! and the close handshake.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::error::{Error, Violation};
use super::wire::{HEADER_LEN, Header, ImageId, Pages, Request};
use crate::pagemap::PE_PRESENT;

/// Slices per `writev` (`IOV_MAX`).
const MAX_SLICES: usize = 1024;

/// A connection to a page server (CRIU's `criu page-server` or ours).
#[derive(Debug)]
pub struct Connection {
    sock: TcpStream,
    peer: String,
    /// The image pages are being sent for.
    open: Option<ImageId>,
    /// A write failed part-way: the stream is no longer at a request boundary.
    torn: bool,
    requests: u64,
    bytes_sent: u64,
}

impl Connection {
    /// Connects to `addr` (`HOST:PORT`), trying each address it resolves to; `timeout` bounds the
    /// connect and every later read or write.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Connection, Error> {
        let addrs = addr.to_socket_addrs().map_err(|e| Error::Connect { addr: addr.into(), source: e })?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(sock) => {
                    let io = |e| Error::Io { peer: addr.into(), during: "setting socket options".into(), source: e };
                    sock.set_nodelay(true).map_err(io)?;
                    sock.set_read_timeout(Some(timeout)).map_err(io)?;
                    sock.set_write_timeout(Some(timeout)).map_err(io)?;
                    return Ok(Connection { sock, peer: addr.into(), open: None, torn: false, requests: 0, bytes_sent: 0 });
                }
                Err(e) => last = e,
            }
        }
        Err(Error::Connect { addr: addr.into(), source: last })
    }

    /// The address connected to, as given.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Bytes sent so far (headers and pages).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// `PS_IOV_PARENT`: whether the server has a parent image for `image`. Creates nothing on
    /// the server, so a round can be refused before anything is written there.
    pub fn has_parent(&mut self, image: ImageId) -> Result<bool, Error> {
        self.send_header(&Request::Parent { image }.encode(), "asking whether it has a parent")?;
        let mut b = [0u8; 4];
        self.recv(&mut b, "waiting for the PS_IOV_PARENT answer")?;
        match i32::from_le_bytes(b) {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.violation(Violation::Answer { value: v.into() })),
        }
    }

    /// `PS_IOV_OPEN2`: the server creates the pagemap (and a pages image) for `image` and says
    /// whether it has a parent for it.
    pub fn open(&mut self, image: ImageId) -> Result<bool, Error> {
        self.send_header(&Request::Open { image, answer: true }.encode(), "opening the image")?;
        self.open = Some(image);
        let mut b = [0u8; 1];
        self.recv(&mut b, "waiting for the PS_IOV_OPEN2 answer")?;
        match b[0] {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.violation(Violation::Answer { value: v.into() })),
        }
    }

    /// Sends `runs` of the open image, each `ADD_F` header followed by its pages when
    /// `PE_PRESENT`: the pages are `data`, back to back in run order (exactly the present runs'
    /// bytes). Gathered into as few `writev` calls as `IOV_MAX` allows.
    pub fn send_runs(&mut self, runs: &[Pages], data: &[u8], headers: &mut Vec<[u8; HEADER_LEN]>) -> Result<(), Error> {
        headers.clear();
        headers.extend(runs.iter().map(|p| Request::Add(*p).encode().encode()));
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(MAX_SLICES.min(2 * runs.len()));
        let mut off = 0usize;
        for (p, h) in runs.iter().zip(headers.iter()) {
            if slices.len() + 2 > MAX_SLICES {
                self.write_all_vectored(&mut slices)?;
                slices.clear();
            }
            slices.push(IoSlice::new(h));
            let len = p.data_len() as usize;
            if len > 0 {
                let Some(d) = data.get(off..off + len) else {
                    return Err(Error::Io {
                        peer: self.peer.clone(),
                        during: "sending pages".into(),
                        source: io::Error::new(io::ErrorKind::InvalidInput, "internal: fewer page bytes than the runs need"),
                    });
                };
                slices.push(IoSlice::new(d));
                off += len;
            }
        }
        if !slices.is_empty() {
            self.write_all_vectored(&mut slices)?;
        }
        self.requests += runs.len() as u64;
        Ok(())
    }

    /// The close handshake: `PS_IOV_CLOSE`, the server's `i32` status (0: it has everything),
    /// then our side of the close, which ends the server's session.
    pub fn close(mut self) -> Result<(), Error> {
        self.send_header(&Request::Close { force: false }.encode(), "sending PS_IOV_CLOSE")?;
        let mut b = [0u8; 4];
        self.recv(&mut b, "waiting for the close handshake's status")?;
        let status = i32::from_le_bytes(b);
        let _ = self.sock.shutdown(Shutdown::Both);
        if status != 0 {
            return Err(Error::Status { peer: self.peer, status });
        }
        Ok(())
    }

    /// Gives up on the session so that the server cannot mistake it for a complete one: when
    /// the stream is at a request boundary and an image is open, announces one present page at
    /// address 0 and closes instead of sending it. Any server then fails reading the page data;
    /// CRIU's `criu page-server`, which writes entries as they come and keeps them, is left with
    /// a pagemap whose last entry is out of order and whose pages are missing, which restore
    /// and `crit check` refuse. Without the close handshake it also exits non-zero.
    pub fn abandon(mut self) {
        if let (false, Some(image)) = (self.torn, self.open) {
            let poison = Request::Add(Pages { image, vaddr: 0, nr_pages: 1, flags: PE_PRESENT }).encode().encode();
            let _ = self.sock.write_all(&poison);
        }
        let _ = self.sock.shutdown(Shutdown::Both);
    }

    fn violation(&self, what: Violation) -> Error {
        Error::Protocol { peer: self.peer.clone(), request: self.requests, offset: self.bytes_sent, what }
    }

    fn send_header(&mut self, h: &Header, during: &str) -> Result<(), Error> {
        let b = h.encode();
        let mut s = [IoSlice::new(&b)];
        let mut slices: &mut [IoSlice<'_>] = &mut s;
        self.write_slices(&mut slices, during)?;
        self.requests += 1;
        Ok(())
    }

    fn write_all_vectored(&mut self, slices: &mut Vec<IoSlice<'_>>) -> Result<(), Error> {
        let mut s: &mut [IoSlice<'_>] = slices.as_mut_slice();
        self.write_slices(&mut s, "sending pages")
    }

    fn write_slices(&mut self, slices: &mut &mut [IoSlice<'_>], during: &str) -> Result<(), Error> {
        while !slices.is_empty() {
            match self.sock.write_vectored(slices) {
                Ok(0) => {
                    self.torn = true;
                    return Err(Error::Closed { peer: self.peer.clone(), during: during.into() });
                }
                Ok(n) => {
                    self.bytes_sent += n as u64;
                    // A partial write leaves the stream mid-request until the rest is out.
                    IoSlice::advance_slices(slices, n);
                    self.torn = !slices.is_empty();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.torn = true;
                    return Err(Error::Io { peer: self.peer.clone(), during: during.into(), source: e });
                }
            }
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], during: &str) -> Result<(), Error> {
        match self.sock.read_exact(buf) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(Error::Closed { peer: self.peer.clone(), during: during.into() }),
            Err(e) => Err(Error::Io { peer: self.peer.clone(), during: during.into(), source: e }),
        }
    }
}
