//! A connection driven by the calling thread: a plain socket written and
//! read with blocking I/O, redis-rs's encoder and parser on top. The pool
//! keeps a second handle on every such socket so that `Pool::close` can
//! shut it down under a thread blocked in a read.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use redis::{ProtocolVersion, RedisResult, Value};

use super::connector::remaining;

/// Where a calling-thread connection goes, and how it logs in.
#[derive(Clone)]
pub(crate) struct ThreadTarget {
    addr: Addr,
    username: Option<String>,
    password: Option<String>,
    db: i64,
    resp3: bool,
}

#[derive(Clone)]
enum Addr {
    Tcp(String, u16),
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

impl ThreadTarget {
    /// `None` for TLS: those connections are made by the runtime.
    pub(crate) fn from_info(info: &redis::ConnectionInfo) -> Option<Self> {
        let addr = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => Addr::Tcp(host.clone(), *port),
            #[cfg(unix)]
            redis::ConnectionAddr::Unix(path) => Addr::Unix(path.clone()),
            _ => return None,
        };
        let settings = info.redis_settings();
        Some(Self {
            addr,
            username: settings.username().map(str::to_owned),
            password: settings.password().map(str::to_owned),
            db: settings.db(),
            resp3: settings.protocol() != ProtocolVersion::RESP2,
        })
    }
}

/// A socket of either family.
pub(crate) enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

impl Socket {
    fn connect(addr: &Addr, deadline: Instant) -> io::Result<Socket> {
        match addr {
            Addr::Tcp(host, port) => {
                let mut last = None;
                for sock_addr in (host.as_str(), *port).to_socket_addrs()? {
                    let left = remaining(deadline);
                    if left.is_zero() {
                        break;
                    }
                    match TcpStream::connect_timeout(&sock_addr, left) {
                        Ok(stream) => {
                            stream.set_nodelay(true)?;
                            return Ok(Socket::Tcp(stream));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::TimedOut)))
            }
            #[cfg(unix)]
            Addr::Unix(path) => std::os::unix::net::UnixStream::connect(path).map(Socket::Unix),
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Socket> {
        match self {
            Socket::Tcp(s) => s.try_clone().map(Socket::Tcp),
            #[cfg(unix)]
            Socket::Unix(s) => s.try_clone().map(Socket::Unix),
        }
    }

    /// Ends both directions: a thread blocked reading it sees end-of-file.
    pub(crate) fn shutdown(&self) {
        let _ = match self {
            Socket::Tcp(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            Socket::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        // A zero timeout means "none" to the OS: keep it at least 1 µs.
        let timeout = Some(timeout.max(Duration::from_micros(1)));
        match self {
            Socket::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            #[cfg(unix)]
            Socket::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One calling-thread connection: request, then read its reply.
pub(crate) struct ThreadConnection {
    reader: BufReader<Socket>,
    parser: redis::Parser,
    /// The socket timeouts set now (changed only when a call needs others).
    timeout: Option<Duration>,
}

impl ThreadConnection {
    /// Connects the socket (TCP connect bounded by `deadline`); the
    /// handshake is [`ThreadConnection::handshake`].
    pub(crate) fn connect(target: &ThreadTarget, deadline: Instant) -> io::Result<Self> {
        let socket = Socket::connect(&target.addr, deadline)?;
        Ok(Self {
            reader: BufReader::new(socket),
            parser: redis::Parser::new(),
            timeout: None,
        })
    }

    /// A second handle on the socket, to shut it down from another thread.
    pub(crate) fn socket_handle(&self) -> io::Result<Socket> {
        self.reader.get_ref().try_clone()
    }

    /// Logs in (`HELLO 3` / `AUTH`), selects the database and checks a
    /// `PONG`, all pipelined in one write, every reply by `deadline`.
    /// Returns the round trip of the whole exchange.
    pub(crate) fn handshake(
        &mut self,
        target: &ThreadTarget,
        deadline: Instant,
    ) -> RedisResult<Duration> {
        let mut pipe = redis::pipe();
        if target.resp3 {
            let hello = pipe.cmd("HELLO").arg(3);
            if let Some(password) = &target.password {
                hello
                    .arg("AUTH")
                    .arg(target.username.as_deref().unwrap_or("default"))
                    .arg(password);
            }
        } else if let Some(password) = &target.password {
            let auth = pipe.cmd("AUTH");
            if let Some(user) = &target.username {
                auth.arg(user);
            }
            auth.arg(password);
        }
        if target.db != 0 {
            pipe.cmd("SELECT").arg(target.db);
        }
        pipe.cmd("PING");
        let started = Instant::now();
        self.set_timeout(remaining(deadline))?;
        self.reader
            .get_mut()
            .write_all(&pipe.get_packed_pipeline())?;
        let mut last = Value::Nil;
        for _ in 0..pipe.len() {
            self.set_timeout(remaining(deadline))?;
            last = self.read_reply()?.extract_error()?;
        }
        let rtt = started.elapsed();
        match last {
            Value::SimpleString(s) if s == "PONG" => Ok(rtt),
            other => Err(redis::RedisError::from(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("answered PING with {other:?}: not a Redis server?"),
            ))),
        }
    }

    /// Sends one packed command and reads its reply, each I/O bounded by
    /// `timeout`.
    pub(crate) fn request(&mut self, packed: &[u8], timeout: Duration) -> RedisResult<Value> {
        self.set_timeout(timeout)?;
        self.reader.get_mut().write_all(packed)?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> RedisResult<Value> {
        loop {
            match self.parser.parse_value(&mut self.reader)? {
                // Out-of-band pushes are not replies.
                Value::Push { .. } => continue,
                value => return Ok(value),
            }
        }
    }

    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        if timeout.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        if self.timeout != Some(timeout) {
            self.reader.get_ref().set_timeouts(timeout)?;
            self.timeout = Some(timeout);
        }
        Ok(())
    }
}
