//! A connection driven by the calling thread: a plain socket written and
//! read with blocking I/O, redis-rs's encoder and parser on top. The pool
//! keeps a second handle on every such socket so that `Pool::close` can
//! shut it down under a thread blocked in a read.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use redis::{ProtocolVersion, RedisResult, Value};

use super::connector::remaining;
#[cfg(unix)]
use super::spin::Spin;

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

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(on),
            #[cfg(unix)]
            Socket::Unix(s) => s.set_nonblocking(on),
        }
    }

    #[cfg(unix)]
    fn raw_fd(&self) -> std::os::unix::io::RawFd {
        use std::os::unix::io::AsRawFd;
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
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

/// A socket with the deadline of the I/O in progress.
///
/// A signal cuts a read on a socket that has a timeout short (`EINTR`: the
/// kernel does not restart such calls, whatever `SA_RESTART` says), and
/// Go's runtime, a host of the C ABI, sends signals to its threads. Such a
/// read is resumed with the time left until the deadline, so a signal
/// neither fails a call nor lengthens its timeout.
struct Stream {
    socket: Socket,
    /// The timeout the socket has now.
    applied: Option<Duration>,
    /// When the I/O in progress must end.
    deadline: Option<Instant>,
    /// Whether the last read found nothing to read (non-blocking mode).
    would_block: bool,
    /// Whether the socket is in blocking mode (reads may spin first).
    blocking: bool,
    /// Whether its reads may poll the socket before sleeping.
    #[cfg(unix)]
    spin: Spin,
}

impl Stream {
    /// Bounds the next I/O by `timeout` from now.
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        if timeout.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        self.deadline = Some(Instant::now() + timeout);
        if self.applied != Some(timeout) {
            self.socket.set_timeouts(timeout)?;
            self.applied = Some(timeout);
        }
        Ok(())
    }

    /// After a signal: the time left, set on the socket; `TimedOut` if none.
    fn resume(&mut self) -> io::Result<()> {
        let Some(deadline) = self.deadline else {
            return Ok(());
        };
        let left = remaining(deadline);
        if left.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        self.socket.set_timeouts(left)?;
        self.applied = Some(left);
        Ok(())
    }
}

impl Stream {
    /// Polls the socket for a while before a blocking read sleeps
    /// ([`Spin`]): `None` if nothing came.
    #[cfg(unix)]
    fn spin_read(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        if !self.blocking {
            return None;
        }
        let fd = self.socket.raw_fd();
        self.spin.read(fd, buf, self.deadline)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        if let Some(result) = self.spin_read(buf) {
            return result;
        }
        loop {
            let result = match &mut self.socket {
                Socket::Tcp(s) => s.read(buf),
                #[cfg(unix)]
                Socket::Unix(s) => s.read(buf),
            };
            match result {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.resume()?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.would_block = true;
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let result = match &mut self.socket {
                Socket::Tcp(s) => s.write(buf),
                #[cfg(unix)]
                Socket::Unix(s) => s.write(buf),
            };
            match result {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.resume()?,
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The commands that log a new connection to `target` in: `HELLO 3` (with
/// `AUTH`) or `AUTH`, then `SELECT`; none when nothing is needed.
pub(crate) fn login_pipeline(target: &ThreadTarget) -> redis::Pipeline {
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
    pipe
}

/// One calling-thread connection: request, then read its reply.
pub(crate) struct ThreadConnection {
    reader: BufReader<Stream>,
    parser: redis::Parser,
}

impl ThreadConnection {
    /// Connects the socket (TCP connect bounded by `deadline`); the
    /// handshake is [`ThreadConnection::handshake`].
    pub(crate) fn connect(target: &ThreadTarget, deadline: Instant) -> io::Result<Self> {
        let socket = Socket::connect(&target.addr, deadline)?;
        Ok(Self {
            reader: BufReader::new(Stream {
                socket,
                applied: None,
                deadline: None,
                would_block: false,
                blocking: true,
                #[cfg(unix)]
                spin: Spin::default(),
            }),
            parser: redis::Parser::new(),
        })
    }

    /// A second handle on the socket, to shut it down from another thread.
    pub(crate) fn socket_handle(&self) -> io::Result<Socket> {
        self.reader.get_ref().socket.try_clone()
    }

    /// Logs in (`HELLO 3` / `AUTH`), selects the database and checks a
    /// `PONG`, all pipelined in one write, every reply by `deadline`.
    /// Returns the round trip of the whole exchange.
    pub(crate) fn handshake(
        &mut self,
        target: &ThreadTarget,
        deadline: Instant,
    ) -> RedisResult<Duration> {
        let mut pipe = login_pipeline(target);
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

    /// Sends one packed command (the write bounded by `timeout`) and puts
    /// the socket in non-blocking mode for [`ThreadConnection::try_reply`].
    pub(crate) fn send_only(&mut self, packed: &[u8], timeout: Duration) -> RedisResult<()> {
        self.set_timeout(timeout)?;
        self.reader.get_mut().write_all(packed)?;
        self.reader.get_ref().socket.set_nonblocking(true)?;
        self.reader.get_mut().blocking = false;
        Ok(())
    }

    /// Reads what the socket has of the reply to [`ThreadConnection::send_only`]:
    /// `None` until it is complete (the parser keeps the partial reply),
    /// then the reply, with the socket back in blocking mode.
    pub(crate) fn try_reply(&mut self) -> Option<RedisResult<Value>> {
        self.reader.get_mut().would_block = false;
        match self.read_reply() {
            Err(_) if self.reader.get_ref().would_block => None,
            result => {
                if let Err(e) = self.reader.get_ref().socket.set_nonblocking(false) {
                    return Some(Err(e.into()));
                }
                self.reader.get_mut().blocking = true;
                Some(result)
            }
        }
    }

    /// The socket's descriptor, for an event loop to watch.
    #[cfg(unix)]
    pub(crate) fn raw_fd(&self) -> std::os::unix::io::RawFd {
        self.reader.get_ref().socket.raw_fd()
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
        self.reader.get_mut().set_timeout(timeout)
    }
}
