//! The language the library's messages name settings in.
//!
//! An error about a setting names it the way the caller writes it: the C
//! field `redkeep_server_options.binary` by default, `ServerOptions.Binary`
//! for a program using the Go package. The core words every message
//! ([`redkeep::Error::message_in`]); this module only keeps which language
//! the process calls the C ABI from.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::status::redkeep_status;

/// The language a program presents the library in, for
/// [`redkeep_set_language`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_language {
    /// C and C++: settings are named as fields of the option structs
    /// (`redkeep_server_options.binary`). The default.
    REDKEEP_LANGUAGE_C = 0,
    /// Go, through the redkeep Go package: settings are named as its
    /// fields (`ServerOptions.Binary`).
    REDKEEP_LANGUAGE_GO = 1,
}

static LANGUAGE: AtomicU32 = AtomicU32::new(redkeep_language::REDKEEP_LANGUAGE_C as u32);

/// The language set with [`redkeep_set_language`], in the core's terms.
pub(crate) fn current() -> redkeep::Language {
    if LANGUAGE.load(Ordering::Relaxed) == redkeep_language::REDKEEP_LANGUAGE_GO as u32 {
        redkeep::Language::Go
    } else {
        redkeep::Language::C
    }
}

/// Sets the language that error messages name settings in, for the whole
/// process: a `redkeep_language` value (`REDKEEP_LANGUAGE_C`, the default,
/// or `REDKEEP_LANGUAGE_GO`). A binding that presents the library in
/// another language calls it once when it is loaded, before other calls
/// (the Go package does, in its `init`); errors made afterwards use it.
///
/// Takes the value as a plain integer so that any number is safe to pass;
/// one this version does not know returns `REDKEEP_INVALID_ARGUMENT` and
/// changes nothing. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn redkeep_set_language(language: u32) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        use redkeep_language::*;
        if language != REDKEEP_LANGUAGE_C as u32 && language != REDKEEP_LANGUAGE_GO as u32 {
            return Err(crate::error::Failure::invalid(format!(
                "language {language} is not a redkeep_language"
            )));
        }
        LANGUAGE.store(language, Ordering::Relaxed);
        Ok(())
    })
}
