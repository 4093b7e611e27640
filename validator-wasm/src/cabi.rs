//! A C ABI over the push API, for hosts without JavaScript (wasmtime in `preflight check
//! --engine wasm`, or any other wasm runtime).
//!
//! Only numbers cross the boundary: byte strings are `(ptr, len)` pairs into the module's
//! exported `memory`, and results that are byte strings come back as one `u64`,
//! `ptr << 32 | len`. The same module serves browsers (through the wasm-bindgen exports
//! beside these) and wasmtime (through these): `wasm-bindgen` keeps exports it did not
//! generate, so the exact `_bg.wasm` a portal ships also runs under wasmtime.
//!
//! Protocol (all functions are `pf_*`; status `0` = ok, `1` = error, then
//! [`pf_last_error`] says why):
//!
//! 1. `pf_abi_version() -> u32`: [`ABI_VERSION`]; a host checks it first.
//! 2. `pf_alloc(len) -> ptr` / `pf_free(ptr, len)`: guest memory the host writes inputs to
//!    (and frees once the call that reads them returned) or reads results from.
//! 3. `pf_session_new(target_ptr, target_len, options_ptr, options_len) -> handle`: the
//!    target is a built-in name (`canvas`) or a target file's JSON text; the options are
//!    JSON `{"max_findings_per_code": 100, "params": {"name": "value"},
//!    "max_record_bytes": 16777216, "max_columns": 10000, "row_verdicts": true}` (each field optional, unknown
//!    fields ignored; empty = defaults). `0` = error.
//! 4. `pf_push(handle, path_ptr, path_len, chunk_ptr, chunk_len) -> status`, any number of
//!    times per file, in chunks of any size (hosts use 64 KiB: the guest never holds a
//!    whole file). Status `2`: taken, and the session wants no more of that file (a record
//!    went over a limit); the host stops reading it (new in ABI version 2). `pf_finish_file(handle, path_ptr, path_len) -> status`.
//!    `pf_size_hint(handle, path_ptr, path_len, bytes: u64) -> status`, before or while a
//!    file is pushed: its expected size, so that the session sizes its tables once
//!    ([`Session::size_hint`]; optional for a host, and added to version 2 without a bump:
//!    a host looks the export up and goes without it).
//!    `pf_add_finding(handle, json_ptr, json_len) -> status` adds a host-made finding (a
//!    [`validator_core::Finding`] as JSON), e.g. a ZIP entry that is not CSV.
//! 5. `pf_finish(handle) -> u64`: ends the session and returns the report as compact JSON
//!    (`serde_json::to_string(&Report)`, the bytes the native core gives); the host reads
//!    it, then calls `pf_free(ptr, len)`. `0` = error. The handle is gone afterwards.
//! 6. `pf_last_error() -> u64`: the last error message (UTF-8), owned by the guest, valid
//!    until the next `pf_*` call; `0` when there is none.
//!
//! Panics (bugs) trap: the `wasm-release` profile aborts on panic.
//!
//! This is the only module of the workspace that allows `unsafe`: a C ABI receives raw
//! pointers and lengths, and turning them into slices, or handing ownership of a buffer
//! to the host and back, cannot be written without it. Every `unsafe` block is a single
//! `from_raw_parts` whose conditions are stated beside it; all other logic is safe code.
#![allow(unsafe_code)]

use std::cell::RefCell;

use validator_core::{Finding, Options, Session, Target};

use crate::reading::Readings;

/// Version of this ABI; bumped when a signature or the protocol changes.
pub const ABI_VERSION: u32 = 2;

const OK: i32 = 0;
const FAILED: i32 = 1;
/// `pf_push` only: taken, and the session wants no more bytes of that file (a record went
/// over a limit); the host stops reading it.
const WANTS_NO_MORE: i32 = 2;

thread_local! {
    /// Open sessions; handle `n` is slot `n - 1`. wasm32-unknown-unknown has one thread.
    static SESSIONS: RefCell<Vec<Option<Open>>> = const { RefCell::new(Vec::new()) };
    /// The last error message, kept until the next call.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// An open session and its files being read ([`Readings`]).
struct Open {
    session: Session,
    reading: Readings,
}

/// Packs a guest buffer for return: `ptr << 32 | len` (wasm32 pointers are 32-bit).
fn pack(ptr: *const u8, len: usize) -> u64 {
    ((ptr as usize as u64) << 32) | len as u64
}

/// Hands `bytes` to the host: the host reads `ptr..ptr+len` and frees it with `pf_free`.
fn give(bytes: Vec<u8>) -> u64 {
    let mut bytes = bytes.into_boxed_slice();
    let packed = pack(bytes.as_mut_ptr(), bytes.len());
    // Ownership goes to the host; `pf_free` rebuilds the Box (same pointer and length).
    std::mem::forget(bytes);
    packed
}

fn fail(msg: impl std::fmt::Display) {
    LAST_ERROR.with_borrow_mut(|e| {
        e.clear();
        e.push_str(&msg.to_string());
    });
}

fn clear_error() {
    LAST_ERROR.with_borrow_mut(String::clear);
}

/// The bytes at `ptr..ptr+len` of guest memory.
///
/// # Safety
/// `ptr..ptr+len` must be memory the host wrote (normally from `pf_alloc`) and that stays
/// untouched during the call. In wasm, every address below the memory size is readable,
/// so a wrong pointer gives wrong bytes (or a trap out of bounds), never undefined
/// behaviour outside the sandbox; the host owns getting it right.
unsafe fn bytes<'a>(ptr: *const u8, len: u32) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees `ptr` points to `len` initialised bytes not mutated
    // during the call (the host is single-threaded and waits for the call to return).
    unsafe { std::slice::from_raw_parts(ptr, len as usize) }
}

/// As [`bytes`], as UTF-8 text.
///
/// # Safety
/// As [`bytes`].
unsafe fn text<'a>(ptr: *const u8, len: u32, what: &str) -> Result<&'a str, String> {
    // SAFETY: forwarded from the caller.
    let b = unsafe { bytes(ptr, len) };
    std::str::from_utf8(b).map_err(|e| format!("{what} is not UTF-8: {e}"))
}

fn with_session<T>(
    handle: u32,
    f: impl FnOnce(&mut Open) -> Result<T, String>,
) -> Result<T, String> {
    SESSIONS.with_borrow_mut(|all| {
        let slot = (handle as usize)
            .checked_sub(1)
            .and_then(|i| all.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("no open session with handle {handle}"))?;
        f(slot)
    })
}

fn status(r: Result<(), String>) -> i32 {
    match r {
        Ok(()) => {
            clear_error();
            OK
        }
        Err(e) => {
            fail(e);
            FAILED
        }
    }
}

fn parse_target(spec: &str) -> Result<Target, String> {
    if spec.trim_start().starts_with('{') {
        serde_json::from_str(spec).map_err(|e| format!("invalid target file: {e}"))
    } else {
        validator_core::targets::builtin(spec)
            .ok_or_else(|| validator_core::Error::UnknownTarget(spec.to_owned()).to_string())
    }
}

/// [`ABI_VERSION`].
#[unsafe(no_mangle)]
pub extern "C" fn pf_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `len` bytes for the host to write into; free with `pf_free(ptr, len)`.
#[unsafe(no_mangle)]
pub extern "C" fn pf_alloc(len: u32) -> *mut u8 {
    let mut buf = vec![0u8; len as usize].into_boxed_slice();
    let ptr = buf.as_mut_ptr();
    // Ownership goes to the host until `pf_free`.
    std::mem::forget(buf);
    ptr
}

/// Frees a buffer from `pf_alloc` or a result of `pf_finish`, with its exact length.
///
/// # Safety
/// `ptr` and `len` must be exactly those of one live buffer from `pf_alloc` or a packed
/// result, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_free(ptr: *mut u8, len: u32) {
    if len == 0 {
        // Zero-length boxes own no memory (their pointer is dangling).
        return;
    }
    // SAFETY: the caller passes back a pointer and length that came from a
    // `Box<[u8]>` of exactly that length (`pf_alloc` / `give`) and frees it once.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len as usize)) });
}

/// Session options as they cross the ABI (see the module docs).
#[derive(serde::Deserialize)]
#[serde(default)]
struct AbiOptions {
    max_findings_per_code: u64,
    params: std::collections::BTreeMap<String, String>,
    max_record_bytes: u64,
    max_columns: u64,
    row_verdicts: bool,
}

impl Default for AbiOptions {
    fn default() -> Self {
        let d = Options::default();
        AbiOptions {
            max_findings_per_code: d.max_findings_per_code,
            params: d.params,
            max_record_bytes: d.max_record_bytes,
            max_columns: d.max_columns,
            row_verdicts: d.row_verdicts,
        }
    }
}

fn parse_options(json: &str) -> Result<Options, String> {
    let o: AbiOptions = if json.trim().is_empty() {
        AbiOptions::default()
    } else {
        serde_json::from_str(json).map_err(|e| format!("invalid options: {e}"))?
    };
    Ok(Options {
        max_findings_per_code: o.max_findings_per_code,
        params: o.params,
        max_record_bytes: o.max_record_bytes,
        max_columns: o.max_columns,
        row_verdicts: o.row_verdicts,
    })
}

/// Starts a session; `0` on error (`pf_last_error`).
///
/// # Safety
/// Both `(ptr, len)` pairs must be readable guest memory (see [`bytes`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_session_new(
    target_ptr: *const u8,
    target_len: u32,
    options_ptr: *const u8,
    options_len: u32,
) -> u32 {
    // SAFETY: forwarded from the caller.
    let (spec, options) = unsafe {
        (
            text(target_ptr, target_len, "target"),
            text(options_ptr, options_len, "options"),
        )
    };
    let session = spec.and_then(|spec| {
        let target = parse_target(spec)?;
        let options = parse_options(options?)?;
        Session::with_options(target, options).map_err(|e| e.to_string())
    });
    match session {
        Ok(s) => {
            clear_error();
            SESSIONS.with_borrow_mut(|all| {
                let i = match all.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        all.push(None);
                        all.len() - 1
                    }
                };
                all[i] = Some(Open {
                    session: s,
                    reading: Readings::default(),
                });
                i as u32 + 1
            })
        }
        Err(e) => {
            fail(e);
            0
        }
    }
}

/// Feeds the next chunk of the file at `path`.
///
/// # Safety
/// Both `(ptr, len)` pairs must be readable guest memory (see [`bytes`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_push(
    handle: u32,
    path_ptr: *const u8,
    path_len: u32,
    chunk_ptr: *const u8,
    chunk_len: u32,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let (path, chunk) = unsafe {
        (
            text(path_ptr, path_len, "path"),
            bytes(chunk_ptr, chunk_len),
        )
    };
    let wants = path.and_then(|path| {
        with_session(handle, |o| {
            let s = &mut o.session;
            o.reading.push(s, path, chunk).map_err(|e| e.to_string())?;
            Ok(o.reading.wants(s, path))
        })
    });
    match wants {
        Ok(false) => {
            clear_error();
            WANTS_NO_MORE
        }
        other => status(other.map(|_| ())),
    }
}

/// Says that the file at `path` will be about `bytes` long ([`Session::size_hint`]).
///
/// # Safety
/// `(path_ptr, path_len)` must be readable guest memory (see [`bytes`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_size_hint(
    handle: u32,
    path_ptr: *const u8,
    path_len: u32,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let path = unsafe { text(path_ptr, path_len, "path") };
    status(path.and_then(|path| {
        with_session(handle, |o| {
            o.session.size_hint(path, bytes);
            Ok(())
        })
    }))
}

/// Ends the file at `path`.
///
/// # Safety
/// `(path_ptr, path_len)` must be readable guest memory (see [`bytes`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_finish_file(handle: u32, path_ptr: *const u8, path_len: u32) -> i32 {
    // SAFETY: forwarded from the caller.
    let path = unsafe { text(path_ptr, path_len, "path") };
    status(path.and_then(|path| {
        with_session(handle, |o| {
            let s = &mut o.session;
            o.reading.finish_file(s, path).map_err(|e| e.to_string())
        })
    }))
}

/// Adds a finding the host made (JSON of a `Finding`).
///
/// # Safety
/// `(json_ptr, json_len)` must be readable guest memory (see [`bytes`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_add_finding(handle: u32, json_ptr: *const u8, json_len: u32) -> i32 {
    // SAFETY: forwarded from the caller.
    let json = unsafe { text(json_ptr, json_len, "finding") };
    status(json.and_then(|json| {
        let finding: Finding =
            serde_json::from_str(json).map_err(|e| format!("invalid finding: {e}"))?;
        with_session(handle, |o| {
            o.reading.check(&mut o.session).map_err(|e| e.to_string())?;
            o.session.add_finding(finding);
            Ok(())
        })
    }))
}

/// Ends the session and returns the report JSON, packed; `0` on error.
#[unsafe(no_mangle)]
pub extern "C" fn pf_finish(handle: u32) -> u64 {
    let open = SESSIONS.with_borrow_mut(|all| {
        (handle as usize)
            .checked_sub(1)
            .and_then(|i| all.get_mut(i))
            .and_then(Option::take)
    });
    let Some(Open {
        mut session,
        mut reading,
    }) = open
    else {
        fail(format!("no open session with handle {handle}"));
        return 0;
    };
    if let Err(e) = reading.finish_all(&mut session) {
        fail(e);
        return 0;
    }
    match serde_json::to_vec(&session.finish()) {
        Ok(json) => {
            clear_error();
            give(json)
        }
        Err(e) => {
            fail(format!("cannot serialise the report: {e}"));
            0
        }
    }
}

/// The last error message, packed (`0` when none); owned by the guest.
#[unsafe(no_mangle)]
pub extern "C" fn pf_last_error() -> u64 {
    LAST_ERROR.with_borrow(|e| {
        if e.is_empty() {
            0
        } else {
            pack(e.as_ptr(), e.len())
        }
    })
}
