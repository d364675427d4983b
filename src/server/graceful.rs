//! A graceful stop: `SHUTDOWN` over a connection, on every platform (on
//! Windows, the only graceful stop there is).

use std::sync::Arc;
use std::time::Duration;

use super::addr::ServerAddr;
use super::certs::TlsFiles;
use super::resp::{Conn, Reply};

/// How long connecting and sending `SHUTDOWN` may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Where and how to ask one spawned server to shut down.
pub(crate) struct Graceful {
    pub(crate) addr: ServerAddr,
    pub(crate) password: Option<String>,
    pub(crate) tls: Option<Arc<TlsFiles>>,
    /// `SHUTDOWN SAVE` (a final snapshot) rather than `SHUTDOWN NOSAVE`.
    pub(crate) save: bool,
}

impl Graceful {
    /// Sends `SHUTDOWN SAVE|NOSAVE`; `true` if the server took it (it closed
    /// the connection, or is still saving when the reply wait ends), `false`
    /// if it could not be reached or refused (an error reply, such as a
    /// failed save), so the caller falls back to a signal.
    pub(crate) fn request(&self) -> bool {
        let Ok(mut conn) = Conn::open(&self.addr, self.tls.as_deref(), REQUEST_TIMEOUT) else {
            return false;
        };
        let mode: &[u8] = if self.save { b"SAVE" } else { b"NOSAVE" };
        let shutdown: [&[u8]; 2] = [b"SHUTDOWN", mode];
        let auth: [&[u8]; 2];
        let mut cmds: Vec<&[&[u8]]> = Vec::with_capacity(2);
        if let Some(pw) = &self.password {
            auth = [b"AUTH", pw.as_bytes()];
            cmds.push(&auth);
        }
        cmds.push(&shutdown);
        if conn.send(&cmds).is_err() {
            return false;
        }
        if self.password.is_some() {
            match conn.read() {
                Ok(Reply::Error(e)) => {
                    tracing::warn!(error = %e, "SHUTDOWN: AUTH refused");
                    return false;
                }
                Ok(_) => {}
                // Closed already: it took the SHUTDOWN.
                Err(_) => return true,
            }
        }
        match conn.read() {
            Ok(Reply::Error(e)) => {
                tracing::warn!(error = %e, "redis-server refused SHUTDOWN");
                false
            }
            // EOF (the normal answer), a timeout while it saves, or anything
            // else: it is on its way out; the caller's deadline decides.
            _ => true,
        }
    }
}
