//! A shared connection driven by its callers, with no task of its own.
//!
//! The caller that finds no write in progress writes: its request and
//! whatever other callers queued meanwhile, in one system call. The caller
//! that finds no read in progress reads: it parses replies (with redis-rs's
//! parser) for everyone waiting, in the order the requests were written,
//! until its own has come, then hands the reading to the next caller
//! waiting. With few calls in flight that caller reads next (the callers
//! of a batch of replies read one after the other on one runtime thread,
//! and their next requests go out together); with many, the first caller
//! back with a new request may read for the rest. A caller alone on the
//! connection writes and reads its socket
//! itself: no channel, no hand-off to a driver task and back, no allocation
//! per request. On Unix, once callers have come one at a time for a few
//! requests, such a caller polls the socket for up to about one loopback
//! round trip before it sleeps on the runtime's reactor (see
//! `pool/spin.rs`): a reply that comes within it costs no wake-up of a
//! sleeping thread. A poll that found nothing makes the connection's next
//! reads sleep at once, and one thread polls at a time.
//!
//! When the socket has something to read it wakes the first caller waiting
//! other than the reader, which takes the reading over if the reader has
//! not come for it first. So a reader whose future is kept but no longer
//! polled (a `select!` that moved on to something else, say) holds no one
//! else's reply: the next caller reads for everyone. A caller handed the
//! reading that has not come for it after a scheduler turn is passed over
//! by the next caller due to write. Likewise a caller due to write holds
//! no one else's request: a reader writes it before it sleeps.
//!
//! ## Behavior
//!
//! Nothing is ever re-sent. A caller that gives up (its future dropped, for
//! example by a timeout) leaves its place: its replies are read and dropped
//! when they come, and the connection stays usable. A socket error, an end
//! of stream or a reply that does not parse breaks the connection: every
//! call on it fails with that error (an I/O error) and every later one at
//! once, so the pool evicts it. [`Mux::shut_down`] breaks it the same way.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use redis::{Cmd, Pipeline, RedisError, RedisResult, Value};

#[cfg(unix)]
use super::spin::Spin;

/// The largest write buffer kept between writes.
const SPARE_KEPT: usize = 64 * 1024;

/// A connection shared by all callers; cloned, a handle on the same one.
#[derive(Clone)]
pub(crate) struct Mux(Arc<Inner>);

struct Inner {
    socket: Socket,
    state: Mutex<State>,
    /// Replies read but not yet parsed. Whoever reads locks it, from the
    /// parse of a reply until that reply is handed to its call (so replies
    /// are handed out in the order they came).
    reading: Mutex<Reading>,
    /// What the socket wakes when it is ready: a [`SocketReady`].
    ready: Waker,
}

/// Wakes, when the socket is ready, the first caller waiting other than
/// the reader or the caller the reading was handed to (it reads if they
/// have not come first), or else that caller, or else the reader.
struct SocketReady(std::sync::Weak<Inner>);

impl std::task::Wake for SocketReady {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(inner) = self.0.upgrade() else {
            return;
        };
        let mut state = inner.lock();
        state.ready = true;
        let (head, answered) = (state.head, state.answered);
        let (reader, handed_to) = (state.reader_id, state.handed_to);
        let waiting = state.calls.range(answered..).zip(head + answered as u64..);
        let mut other = None;
        let mut next_reader = None;
        for (call, id) in waiting {
            match &call.waker {
                Some(waker) if Some(id) == handed_to => next_reader = Some(waker),
                Some(waker) if Some(id) != reader => {
                    other = Some(waker);
                    break;
                }
                _ => {}
            }
        }
        if let Some(waker) = other.or(next_reader).or(state.reader.as_ref()) {
            waker.wake_by_ref();
        }
    }
}

/// What the reader keeps between reads.
struct Reading {
    parser: redis::Parser,
    /// Whether a caller alone on the connection may poll the socket
    /// before sleeping ([`Spin`]).
    #[cfg(unix)]
    spin: Spin,
}

/// The socket, of either family.
enum Socket {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

struct State {
    /// Requests queued and not yet written.
    out: Vec<u8>,
    /// The writer's buffer between writes, swapped with `out`.
    spare: Vec<u8>,
    /// A caller is writing `out`.
    writing: bool,
    /// A caller is to write `out` at its next poll (after one scheduler
    /// turn); a reader about to sleep writes it instead.
    write_due: bool,
    /// The socket took only part of `out`: the reader writes the rest
    /// when the socket is writable again.
    write_blocked: bool,
    /// The call whose caller reads replies, if any.
    reader_id: Option<u64>,
    /// The call whose caller the last reader woke to read next, until it
    /// starts (or gives up or is answered): meanwhile no other caller takes
    /// the reading over, unless the socket wakes it.
    handed_to: Option<u64>,
    /// The reader's waker while it waits for the socket.
    reader: Option<Waker>,
    /// The socket became ready and no one has read since.
    ready: bool,
    /// Calls in the order their requests were queued.
    calls: VecDeque<Call>,
    /// The number of `calls[0]`.
    head: u64,
    /// How many calls at the front have all their replies (or failed).
    answered: usize,
    /// Why the connection broke, once it has.
    broken: Option<RedisError>,
    /// How many requests in a row were queued with no other call in
    /// flight (saturating): a caller polls the socket only after
    /// [`ALONE_BEFORE_POLLING`] of them, so it never holds its thread
    /// while the callers that other replies just woke wait to queue
    /// theirs.
    alone_in_a_row: u8,
}

/// How many requests in a row queued alone make a caller poll the socket
/// before sleeping (one caller at a time on the connection).
const ALONE_BEFORE_POLLING: u8 = 8;

/// Up to how many calls in flight a reader hands the reading to the next
/// caller waiting, which reads its own reply and hands it on in turn, rather
/// than letting the first caller back with a new request read for everyone.
/// The hand-off keeps a batch's callers on one runtime thread, one after
/// the other, so that their next requests go out together; with more calls
/// in flight, one caller reading for the rest while the callers it woke run
/// on the other threads is faster. (Measured on two cores against letting
/// the first caller back read: 1.37x the throughput at 10 callers, 1.15x
/// at 20, level at 50; handing off at 200 callers gave 0.63x.)
const HAND_OFF_IN_FLIGHT: usize = 32;

struct Call {
    /// Replies still to come.
    remaining: usize,
    got: Got,
    /// Wakes the caller when its replies are in, or when it may read.
    waker: Option<Waker>,
    /// Whether a caller will take the replies (not given up, not taken).
    owned: bool,
}

enum Got {
    Nothing,
    One(Value),
    Many(Vec<Value>),
    Failed(RedisError),
}

impl Mux {
    /// A connection over `stream` (not logged in yet).
    pub(crate) fn tcp(stream: tokio::net::TcpStream) -> Self {
        Self::new(Socket::Tcp(stream))
    }

    /// A connection over a unix socket (not logged in yet).
    #[cfg(unix)]
    pub(crate) fn unix(stream: tokio::net::UnixStream) -> Self {
        Self::new(Socket::Unix(stream))
    }

    fn new(socket: Socket) -> Self {
        Self(Arc::new_cyclic(|weak| Inner {
            socket,
            ready: Waker::from(Arc::new(SocketReady(weak.clone()))),
            state: Mutex::new(State {
                out: Vec::new(),
                spare: Vec::new(),
                writing: false,
                write_due: false,
                write_blocked: false,
                reader_id: None,
                handed_to: None,
                reader: None,
                ready: false,
                calls: VecDeque::new(),
                head: 0,
                answered: 0,
                broken: None,
                alone_in_a_row: 0,
            }),
            reading: Mutex::new(Reading {
                parser: redis::Parser::new(),
                #[cfg(unix)]
                spin: Spin::default(),
            }),
        }))
    }

    /// Sends `cmd`; resolves to its reply (a server error as
    /// `Value::ServerError`, as redis-rs's connections return it).
    pub(crate) fn request<'a>(&'a self, cmd: &'a Cmd) -> Request<'a> {
        Request::new(&self.0, Queued::Cmd(cmd))
    }

    /// Sends `pipe`; resolves to `count` of its replies from `offset`
    /// (for `MULTI`/`EXEC`, the first error queuing a command, if any).
    pub(crate) async fn pipeline(
        &self,
        pipe: &Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        if pipe.is_empty() {
            return Ok(Vec::new());
        }
        let mut replies = match Request::new(&self.0, Queued::Pipe(pipe)).await? {
            Value::Array(replies) => replies,
            other => vec![other],
        };
        if pipe.is_transaction() {
            // Queued commands are answered `QUEUED`, or an error that
            // aborts the transaction.
            let mut queued = replies.iter().take(offset).skip(1);
            if let Some(Value::ServerError(e)) = queued.find(|v| matches!(v, Value::ServerError(_)))
            {
                return Err(e.clone().into());
            }
        }
        let end = offset.saturating_add(count).min(replies.len());
        replies.truncate(end);
        Ok(replies.split_off(offset.min(end)))
    }

    /// Breaks the connection: every call on it fails at once, with an
    /// error saying it was closed.
    pub(crate) fn shut_down(&self) {
        let closed = io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed");
        self.0.lock().fail(closed.into());
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `out` until it is empty (the caller set `writing`), or until
    /// the socket is full (then the reader writes the rest).
    fn flush(&self) {
        let mut state = self.lock();
        loop {
            if state.out.is_empty() {
                state.writing = false;
                return;
            }
            let mut buf = std::mem::take(&mut state.spare);
            std::mem::swap(&mut buf, &mut state.out);
            drop(state);
            let written = self.socket.write_some(&buf);
            state = self.lock();
            match written {
                Ok(n) if n == buf.len() => {
                    // Kept for the next write, unless a large request
                    // grew it: that memory goes back.
                    if buf.capacity() <= SPARE_KEPT {
                        buf.clear();
                        state.spare = buf;
                    }
                }
                Ok(n) => {
                    // What was queued meanwhile goes after the rest.
                    let mut rest = buf.split_off(n);
                    rest.extend_from_slice(&state.out);
                    state.out = rest;
                    state.writing = false;
                    state.write_blocked = true;
                    if let Some(reader) = state.reader.take() {
                        reader.wake();
                    }
                    return;
                }
                Err(e) => {
                    state.writing = false;
                    state.fail(e.into());
                    return;
                }
            }
        }
    }

    /// Writes what is queued if a write is still due (no reader wrote it
    /// meanwhile).
    fn write_if_due(&self) {
        let mut state = self.lock();
        if !state.write_due {
            return;
        }
        state.write_due = false;
        if state.writing || state.write_blocked {
            return;
        }
        state.writing = true;
        drop(state);
        self.flush();
    }

    /// As the reader: writes what a full socket left, reads and parses one
    /// reply and hands it to its call. `Pending` when the socket has
    /// nothing yet (the caller's waker registered with it and in `state`).
    fn read_one(&self, id: u64, cx: &mut Context<'_>) -> Poll<()> {
        let mut ready_cx = Context::from_waker(&self.ready);
        let mut write_armed = false;
        loop {
            // Alone on the connection, as its callers have been for a
            // while, with nothing to write: its reply is the next thing the
            // socket brings.
            let alone;
            {
                let mut state = self.lock();
                // What a full socket left.
                if state.write_blocked && !state.writing {
                    state.write_blocked = false;
                    state.writing = true;
                    drop(state);
                    self.flush();
                    state = self.lock();
                    if state.write_blocked {
                        drop(state);
                        match self.socket.poll_write_ready(&mut ready_cx) {
                            Poll::Ready(Ok(())) => continue,
                            Poll::Ready(Err(e)) => {
                                self.lock().fail(e.into());
                                return Poll::Ready(());
                            }
                            Poll::Pending => write_armed = true,
                        }
                        state = self.lock();
                    }
                }
                alone = state.calls.len() == state.answered + 1
                    && state.alone_in_a_row >= ALONE_BEFORE_POLLING
                    && state.out.is_empty() // what a full socket left stays here
                    && !state.writing;
            }
            let mut reading = self.reading.lock().unwrap_or_else(|e| e.into_inner());
            let Reading {
                parser,
                #[cfg(unix)]
                spin,
            } = &mut *reading;
            let mut read = SocketRead {
                socket: &self.socket,
                would_block: false,
                #[cfg(unix)]
                spin: alone.then_some(spin),
                #[cfg(unix)]
                past_readiness: false,
            };
            #[cfg(not(unix))]
            let _ = alone;
            match parser.parse_value(&mut read) {
                Ok(value) => {
                    self.lock().dispatch(value);
                    return Poll::Ready(());
                }
                Err(_) if read.would_block => match self.socket.poll_read_ready(&mut ready_cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => {
                        self.lock().fail(e.into());
                        return Poll::Ready(());
                    }
                    Poll::Pending => {
                        drop(reading);
                        let mut state = self.lock();
                        if state.broken.is_some() || state.reader_id != Some(id) {
                            return Poll::Ready(()); // broken, or taken over
                        }
                        if state.ready || (state.write_blocked && !write_armed) {
                            state.ready = false;
                            continue;
                        }
                        if state.write_due && !state.writing && !state.write_blocked {
                            // Before sleeping: what a caller due to write
                            // has not written (its future may not be
                            // polled again) goes out.
                            state.write_due = false;
                            state.writing = true;
                            drop(state);
                            self.flush();
                            continue;
                        }
                        state.reader = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                },
                Err(e) => {
                    self.lock().fail(e);
                    return Poll::Ready(());
                }
            }
        }
    }
}

impl State {
    /// Gives one reply to the first call still waiting for one.
    fn dispatch(&mut self, value: Value) {
        if let Value::Push { kind, .. } = &value {
            // Only (un)subscribe confirmations answer a command (as in
            // redis-rs); other pushes are out of band.
            use redis::PushKind::*;
            let confirms = matches!(
                kind,
                Subscribe | PSubscribe | SSubscribe | Unsubscribe | PUnsubscribe | SUnsubscribe
            );
            if !confirms {
                return;
            }
        }
        let index = self.answered;
        let Some(call) = self.calls.get_mut(index) else {
            return; // no call waits for it: nothing to give it to
        };
        call.remaining -= 1;
        match &mut call.got {
            Got::Many(replies) => replies.push(value),
            got => *got = Got::One(value),
        }
        if call.remaining == 0 {
            self.answered += 1;
            if let Some(waker) = call.waker.take() {
                waker.wake();
            }
            self.pop_done();
        }
    }

    /// Breaks the connection (once): every call still waiting fails.
    fn fail(&mut self, error: RedisError) {
        if self.broken.is_some() {
            return;
        }
        for call in self.calls.range_mut(self.answered..) {
            call.got = Got::Failed(error.clone());
            if let Some(waker) = call.waker.take() {
                waker.wake();
            }
        }
        self.answered = self.calls.len();
        self.broken = Some(error);
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
        self.pop_done();
    }

    /// Drops answered calls at the front that no caller will take.
    fn pop_done(&mut self) {
        while self.answered > 0 && self.calls.front().is_some_and(|c| !c.owned) {
            self.calls.pop_front();
            self.head += 1;
            self.answered -= 1;
        }
    }

    /// Makes call `id`'s caller the reader. A reader it takes over from
    /// waits as any other caller: its waker moves to its call.
    fn start_reading(&mut self, id: u64) {
        if let (Some(previous), Some(waker)) = (self.reader_id, self.reader.take()) {
            let index = (previous - self.head) as usize;
            match self.calls.get_mut(index) {
                Some(call) if index >= self.answered => call.waker = Some(waker),
                _ => waker.wake(),
            }
        }
        self.reader_id = Some(id);
        self.handed_to = None;
        self.ready = false;
    }

    /// Hands the reading on if call `id`'s caller has it or was handed it
    /// (its reply taken, or given up).
    fn hand_on_reading(&mut self, id: u64) {
        if self.reader_id == Some(id) || self.handed_to == Some(id) {
            self.stop_reading();
        }
    }

    /// Ends the reading of the caller that had it: the first caller still
    /// waiting, if any, is woken to read.
    fn stop_reading(&mut self) {
        self.reader_id = None;
        self.reader = None;
        let answered = self.answered;
        let mut waiting = self
            .calls
            .range(answered..)
            .zip(self.head + answered as u64..);
        let next = waiting.find_map(|(call, id)| Some((call.waker.as_ref()?, id)));
        let few = self.calls.len() - answered <= HAND_OFF_IN_FLIGHT;
        self.handed_to = next.map(|(_, id)| id).filter(|_| few);
        if let Some((waker, _)) = next {
            waker.wake_by_ref();
        }
    }
}

/// What a [`Request`] sends.
enum Queued<'a> {
    Cmd(&'a Cmd),
    Pipe(&'a Pipeline),
}

/// A request on a [`Mux`]: written at its first poll, then its replies
/// awaited (a pipeline's as one array).
pub(crate) struct Request<'a> {
    inner: &'a Inner,
    queued: Option<Queued<'a>>,
    /// The call's number, once queued.
    id: u64,
    /// Whether this caller is to write what is queued after letting the
    /// other runnable callers queue theirs (see [`Request::send`]).
    write_after_yield: bool,
    /// The call the reading was handed to when this one was queued, if
    /// any: still the same after that scheduler turn, it is not coming for
    /// it (its future may be kept but no longer polled), and this caller
    /// reads instead.
    handed_to_when_queued: Option<u64>,
    /// Whether its outcome was taken, or it never reached the connection.
    finished: bool,
}

impl<'a> Request<'a> {
    fn new(inner: &'a Inner, queued: Queued<'a>) -> Self {
        Self {
            inner,
            queued: Some(queued),
            id: 0,
            write_after_yield: false,
            handed_to_when_queued: None,
            finished: false,
        }
    }

    /// Queues the request and writes it unless a write is in progress
    /// (that writer, or the reader, sends it). With other calls in flight
    /// the write waits for one turn of the scheduler (`write_after_yield`),
    /// so that the callers their replies just woke queue theirs and one
    /// system call sends them all: one write per request would cost the
    /// client and the server a system call each.
    fn send(&mut self, queued: Queued<'_>) -> RedisResult<()> {
        if matches!(queued, Queued::Cmd(cmd) if cmd.is_no_response()) {
            return Err(no_reply_expected());
        }
        let mut state = self.inner.lock();
        if let Some(e) = &state.broken {
            return Err(e.clone());
        }
        let (remaining, got) = match queued {
            Queued::Cmd(cmd) => {
                cmd.write_packed_command(&mut state.out);
                (1, Got::Nothing)
            }
            Queued::Pipe(pipe) => {
                state.out.extend_from_slice(&pipe.get_packed_pipeline());
                // A transaction is sent wrapped in `MULTI` ... `EXEC`.
                let replies = pipe.len() + if pipe.is_transaction() { 2 } else { 0 };
                (replies, Got::Many(Vec::with_capacity(replies)))
            }
        };
        self.id = state.head + state.calls.len() as u64;
        state.calls.push_back(Call {
            remaining,
            got,
            waker: None,
            owned: true,
        });
        state.alone_in_a_row = if state.calls.len() == state.answered + 1 {
            state.alone_in_a_row.saturating_add(1)
        } else {
            0
        };
        if state.writing || state.write_blocked || state.write_due {
            return Ok(());
        }
        if state.calls.len() > state.answered + 1 {
            // Others in flight: written at the next poll.
            state.write_due = true;
            self.write_after_yield = true;
            self.handed_to_when_queued = state.handed_to;
            return Ok(());
        }
        state.writing = true;
        drop(state);
        self.inner.flush();
        Ok(())
    }

    fn index(&self, state: &State) -> usize {
        (self.id - state.head) as usize
    }
}

impl Future for Request<'_> {
    type Output = RedisResult<Value>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(queued) = this.queued.take() {
            if let Err(e) = this.send(queued) {
                this.finished = true;
                return Poll::Ready(Err(e));
            }
            if this.write_after_yield {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        let inner = this.inner;
        let mut handed_to_before = None;
        if this.write_after_yield {
            this.write_after_yield = false;
            inner.write_if_due();
            handed_to_before = this.handed_to_when_queued;
        }
        let mut state = inner.lock();
        if handed_to_before.is_some() && state.handed_to == handed_to_before {
            state.handed_to = None; // not coming for it: this caller reads
        }
        loop {
            let index = this.index(&state);
            if index < state.answered {
                let call = &mut state.calls[index];
                call.owned = false;
                let got = std::mem::replace(&mut call.got, Got::Nothing);
                state.pop_done();
                state.hand_on_reading(this.id);
                this.finished = true;
                return Poll::Ready(match got {
                    Got::One(value) => Ok(value),
                    Got::Many(values) => Ok(Value::Array(values)),
                    Got::Failed(e) => Err(e),
                    Got::Nothing => Err(io::Error::from(io::ErrorKind::InvalidData).into()),
                });
            }
            if state.reader_id != Some(this.id) {
                let handed_to_other = state.handed_to.is_some_and(|id| id != this.id);
                if (state.reader_id.is_some() || handed_to_other) && !state.ready {
                    let call = &mut state.calls[index];
                    match &call.waker {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        _ => call.waker = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                // No reader, or one that has not come for what the socket
                // has: this caller reads.
                state.start_reading(this.id);
            }
            state.ready = false;
            drop(state);
            if inner.read_one(this.id, cx).is_pending() {
                return Poll::Pending;
            }
            state = inner.lock();
        }
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        if self.finished || self.queued.is_some() {
            return;
        }
        if self.write_after_yield {
            // It was due to write: what is queued goes out now.
            self.inner.write_if_due();
        }
        // Given up: its replies are dropped when they come.
        let mut state = self.inner.lock();
        let index = self.index(&state);
        let call = &mut state.calls[index];
        call.owned = false;
        call.waker = None;
        call.got = Got::Nothing;
        state.pop_done();
        state.hand_on_reading(self.id);
    }
}

impl Socket {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Socket::Tcp(s) => s.poll_read_ready(cx),
            #[cfg(unix)]
            Socket::Unix(s) => s.poll_read_ready(cx),
        }
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Socket::Tcp(s) => s.poll_write_ready(cx),
            #[cfg(unix)]
            Socket::Unix(s) => s.poll_write_ready(cx),
        }
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.try_read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.try_read(buf),
        }
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.try_write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.try_write(buf),
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

    /// Writes as much of `buf` as the socket takes now.
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            match self.try_write(&buf[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }
}

/// The socket as the parser's reader: what it has now, `WouldBlock` when
/// it has nothing (the parser keeps a partial reply for the next call).
struct SocketRead<'a> {
    socket: &'a Socket,
    would_block: bool,
    /// Polls the socket once before `WouldBlock`, for a caller alone.
    #[cfg(unix)]
    spin: Option<&'a mut Spin>,
    /// Whether a poll read what tokio had not seen ready: the reads go on
    /// past tokio's readiness until the socket is empty.
    #[cfg(unix)]
    past_readiness: bool,
}

impl Read for SocketRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            #[cfg(unix)]
            if self.past_readiness {
                match super::spin::recv_now(self.socket.raw_fd(), buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // Empty: tokio's readiness is right again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.past_readiness = false,
                    other => return other,
                }
            }
            match self.socket.try_read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    #[cfg(unix)]
                    if let Some(spin) = self.spin.take() {
                        if let Some(got) = spin.read(self.socket.raw_fd(), buf, None) {
                            self.past_readiness = got.is_ok();
                            return got;
                        }
                    }
                    self.would_block = true;
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}

fn no_reply_expected() -> RedisError {
    RedisError::from((
        redis::ErrorKind::Client,
        "a command sent without waiting for its reply cannot go on a shared connection",
    ))
}
