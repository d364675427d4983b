//! The wake-up channel of a completion queue: a connected pair of
//! non-blocking streams, whose read end a caller polls.
//!
//! Unix: a `socketpair` (`UnixStream::pair`). Windows: a loopback TCP pair
//! (Windows has no anonymous socket pair, and only sockets work with
//! `select`/`WSAPoll`), made by connecting to a listener on `127.0.0.1:0`
//! that is closed right after the accept.

use std::ffi::c_int;
use std::io;

#[cfg(unix)]
pub(crate) type Stream = std::os::unix::net::UnixStream;
#[cfg(windows)]
pub(crate) type Stream = std::net::TcpStream;

/// A connected pair (reader, writer).
#[cfg(unix)]
pub(crate) fn pair() -> io::Result<(Stream, Stream)> {
    Stream::pair()
}

/// A connected pair (reader, writer) over loopback TCP; the accepted end is
/// checked to be our own connection (same local/peer addresses).
#[cfg(windows)]
pub(crate) fn pair() -> io::Result<(Stream, Stream)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let writer = Stream::connect(listener.local_addr()?)?;
    loop {
        let (reader, peer) = listener.accept()?;
        if peer == writer.local_addr()? {
            writer.set_nodelay(true)?;
            return Ok((reader, writer));
        }
        // Someone else raced to connect: not ours, drop it.
    }
}

/// The raw descriptor (unix) or `SOCKET` (Windows) of `stream`, now owned
/// by the caller.
pub(crate) fn raw_handle(stream: Stream) -> c_int {
    #[cfg(unix)]
    {
        std::os::fd::IntoRawFd::into_raw_fd(stream)
    }
    #[cfg(windows)]
    {
        // A SOCKET is a kernel handle value, which fits in 32 bits.
        std::os::windows::io::IntoRawSocket::into_raw_socket(stream) as c_int
    }
}
