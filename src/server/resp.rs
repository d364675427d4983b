//! A tiny blocking RESP2 client: just enough to tell whether a Redis answers
//! at an address, and to send `SHUTDOWN`/`FLUSHALL`, without a runtime.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::addr::ServerAddr;
use super::certs::TlsFiles;

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
    /// TLS over TCP; the handshake happens on the first read or write,
    /// bounded by the socket's timeouts.
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

/// One reply, as far as we care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Status(String),
    Error(String),
    Bulk(Vec<u8>),
    Int(i64),
    Nil,
    /// An array (its elements are read and dropped).
    Array,
}

/// A blocking connection with read and write timeouts.
pub(crate) struct Conn {
    reader: BufReader<Stream>,
}

/// Longest line or bulk we accept: a probe never needs more.
const MAX_FRAME: usize = 1 << 20;

impl Conn {
    /// [`Conn::connect`], over TLS trusting only `tls`'s CA when given.
    pub(crate) fn open(
        addr: &ServerAddr,
        tls: Option<&TlsFiles>,
        timeout: Duration,
    ) -> io::Result<Conn> {
        let conn = Conn::connect(addr, timeout)?;
        match tls {
            None => Ok(conn),
            #[cfg(feature = "tls")]
            Some(tls) => conn.into_tls(addr, tls),
            #[cfg(not(feature = "tls"))]
            Some(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "redkeep was built without its `tls` feature",
            )),
        }
    }

    #[cfg(feature = "tls")]
    fn into_tls(self, addr: &ServerAddr, tls: &TlsFiles) -> io::Result<Conn> {
        let (Stream::Tcp(tcp), ServerAddr::Tcp { host, .. }) = (self.reader.into_inner(), addr)
        else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS needs a TCP address",
            ));
        };
        let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
            .to_owned();
        let session =
            rustls::ClientConnection::new(tls.client.clone(), name).map_err(io::Error::other)?;
        Ok(Conn {
            reader: BufReader::new(Stream::Tls(Box::new(rustls::StreamOwned::new(
                session, tcp,
            )))),
        })
    }

    /// Connects with `timeout` for the connect and for every read and write.
    /// An unresolved unix address (no path) is `InvalidInput`.
    pub(crate) fn connect(addr: &ServerAddr, timeout: Duration) -> io::Result<Conn> {
        let stream = match addr {
            ServerAddr::Tcp { host, port } => {
                let mut last = None;
                let mut found = None;
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, timeout) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let s = match found {
                    Some(s) => s,
                    None => {
                        return Err(last.unwrap_or_else(|| {
                            io::Error::new(io::ErrorKind::NotFound, "host has no address")
                        }))
                    }
                };
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
            #[cfg(unix)]
            ServerAddr::Unix(Some(path)) => {
                let s = std::os::unix::net::UnixStream::connect(path)?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                Stream::Unix(s)
            }
            ServerAddr::Unix(None) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a unix socket address without a path",
                ))
            }
            #[cfg(not(unix))]
            ServerAddr::Unix(Some(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "unix sockets are not supported on this platform",
                ))
            }
        };
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends commands in one write (pipelined).
    pub(crate) fn send(&mut self, commands: &[&[&[u8]]]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(64);
        for args in commands {
            buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in *args {
                buf.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                buf.extend_from_slice(arg);
                buf.extend_from_slice(b"\r\n");
            }
        }
        let stream = self.reader.get_mut();
        stream.write_all(&buf)?;
        stream.flush()
    }

    /// Reads one reply. Anything that is not RESP is `InvalidData` with the
    /// first bytes received (printable characters only) in the message.
    pub(crate) fn read(&mut self) -> io::Result<Reply> {
        let line = self.line()?;
        let (kind, rest) = match line.split_first() {
            Some((k, rest)) => (*k, rest),
            None => return Err(not_resp(&line)),
        };
        let text = || String::from_utf8_lossy(rest).into_owned();
        match kind {
            b'+' => Ok(Reply::Status(text())),
            b'-' => Ok(Reply::Error(text())),
            b':' => text().parse().map(Reply::Int).map_err(|_| not_resp(&line)),
            b'$' => {
                let len: i64 = text().parse().map_err(|_| not_resp(&line))?;
                if len < 0 {
                    return Ok(Reply::Nil);
                }
                let len = len as usize;
                if len > MAX_FRAME {
                    return Err(not_resp(&line));
                }
                let mut data = vec![0; len + 2];
                self.reader.read_exact(&mut data)?;
                data.truncate(len);
                Ok(Reply::Bulk(data))
            }
            b'*' => {
                let n: i64 = text().parse().map_err(|_| not_resp(&line))?;
                for _ in 0..n.max(0) {
                    self.read()?;
                }
                Ok(Reply::Array)
            }
            _ => Err(not_resp(&line)),
        }
    }

    /// One CRLF-terminated line, without the CRLF.
    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_FRAME as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection without answering",
            ));
        }
        if !line.ends_with(b"\r\n") {
            return Err(not_resp(&line));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }
}

fn not_resp(got: &[u8]) -> io::Error {
    let shown: String = String::from_utf8_lossy(&got[..got.len().min(40)])
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '.'
            }
        })
        .collect();
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the reply is not RESP (it began with {shown:?})"),
    )
}

/// What a `PING` at an address found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Nothing listens (refused, or no socket file).
    Nothing,
    /// A Redis answered `PONG`.
    Pong,
    /// A Redis is loading its dataset.
    Loading,
    /// A Redis wants a (different) password: still a Redis.
    Auth(String),
    /// A Redis answered with another error.
    RedisError(String),
    /// Something that is not a Redis holds the address.
    NotRedis(String),
}

/// Sends `AUTH` (if a password is given) and `PING`, and classifies the
/// answer.
pub(crate) fn ping(addr: &ServerAddr, password: Option<&str>, timeout: Duration) -> Answer {
    let mut conn = match Conn::connect(addr, timeout) {
        Ok(c) => c,
        Err(e) if is_absent(&e) => return Answer::Nothing,
        Err(e) => return Answer::NotRedis(format!("connecting failed: {e}")),
    };
    let result = (|| -> io::Result<Answer> {
        match password {
            Some(pw) => {
                conn.send(&[&[b"AUTH", pw.as_bytes()], &[b"PING"]])?;
                let auth = conn.read()?;
                let ping = conn.read()?;
                Ok(match (auth, ping) {
                    (_, Reply::Status(s)) if s == "PONG" => Answer::Pong,
                    (Reply::Error(e), _) if is_auth_error(&e) => Answer::Auth(e),
                    (_, r) => classify(r),
                })
            }
            None => {
                conn.send(&[&[b"PING"]])?;
                Ok(classify(conn.read()?))
            }
        }
    })();
    match result {
        Ok(answer) => answer,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Answer::NotRedis(format!(
                "it accepted the connection but did not answer PING within {}",
                crate::util::fmt_duration(timeout)
            ))
        }
        Err(e) => Answer::NotRedis(e.to_string()),
    }
}

fn classify(reply: Reply) -> Answer {
    match reply {
        Reply::Status(s) if s == "PONG" => Answer::Pong,
        Reply::Error(e) if e.starts_with("LOADING") => Answer::Loading,
        Reply::Error(e) if is_auth_error(&e) => Answer::Auth(e),
        Reply::Error(e) => Answer::RedisError(e),
        other => Answer::NotRedis(format!("it answered PING with {other:?}")),
    }
}

fn is_auth_error(e: &str) -> bool {
    e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") || e.contains("AUTH")
}

/// Whether a connect error means "nobody listens here".
pub(crate) fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
    )
}
