//! The validation engine a check runs on: the core linked in (`native`), or the core compiled
//! to WebAssembly and run inside wasmtime (`wasm`), the very module browsers and portals run.
//!
//! Both take the same calls (`push` in chunks, `finish_file`, `add_finding`, `finish`) and
//! give the same [`Report`]. The wasm engine talks to the module through its C ABI (the
//! `pf_*` exports of `validator-wasm/src/cabi.rs`): inputs are written into guest memory, the
//! report comes back as the JSON text the core serialised inside the guest.
//!
//! By default the module is the one embedded in this binary at build time (see `build.rs`);
//! [`WasmModule::from_file`] loads another, e.g. `web-demo/pkg/validator_wasm_bg.wasm`. A
//! module processed by `wasm-bindgen` keeps the `pf_*` exports; its JavaScript imports are
//! defined as traps, which the C ABI never reaches.

use std::fmt;
use std::path::Path;

use validator_core::{Finding, Options, Report, Session, Target};
use wasmtime::{Instance, Linker, Memory, Module, Store, TypedFunc};

/// The ABI version this host speaks (`pf_abi_version`).
pub const ABI_VERSION: u32 = 2;

/// `pf_push` status: taken, and the session wants no more of that file.
const WANTS_NO_MORE: i32 = 2;

/// The validator module embedded at build time; empty when the build could not make it.
pub const EMBEDDED_MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/validator.wasm"));

/// Why the embedded module is missing, when it is (set by `build.rs`).
const EMBED_NOTE: &str = include_str!(concat!(env!("OUT_DIR"), "/validator.note"));

/// A failure of the engine itself (a module that cannot be loaded, a trap, API misuse);
/// never bad input data, which is a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError(pub String);

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EngineError {}

impl From<validator_core::Error> for EngineError {
    fn from(e: validator_core::Error) -> Self {
        EngineError(e.to_string())
    }
}

/// Where compiled modules are kept: `PREFLIGHT_WASM_CACHE`, else `preflight/wasmtime` in the
/// user's cache directory; `PREFLIGHT_WASM_CACHE=off` compiles every time.
fn cache_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("PREFLIGHT_WASM_CACHE") {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => std::path::absolute(v).ok(),
        _ => dirs::cache_dir().map(|d| d.join("preflight").join("wasmtime")),
    }
}

/// Cranelift takes seconds to compile the 2 MB module (regex's Unicode tables): it compiles
/// on every core, and wasmtime's cache keeps the machine code, keyed by the module's bytes
/// and the engine's settings, so the next run loads it in milliseconds. A cache that cannot
/// be set up only costs the compile.
fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.parallel_compilation(true);
    if let Some(dir) = cache_dir() {
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        if let Ok(cache) = wasmtime::Cache::new(cache) {
            config.cache(Some(cache));
        }
    }
    config
}

fn wasm_err(what: &str) -> impl Fn(wasmtime::Error) -> EngineError + '_ {
    // wasmtime's causes can span lines (byte dumps); the CLI promises one line on stderr.
    move |e| {
        let msg = format!("{e:#}");
        EngineError(format!(
            "wasm engine: {what}: {}",
            msg.split_whitespace().collect::<Vec<_>>().join(" ")
        ))
    }
}

/// A running check on either engine.
#[derive(Debug)]
pub enum Engine {
    /// The core linked into this binary.
    Native(Box<Session>),
    /// The core as a WebAssembly module inside wasmtime.
    Wasm(Box<WasmSession>),
}

impl Engine {
    /// A native session.
    pub fn native(target: Target, options: Options) -> Result<Engine, EngineError> {
        Ok(Engine::Native(Box::new(Session::with_options(
            target, options,
        )?)))
    }

    /// A session inside `module`. The target crosses as its JSON definition, so built-in
    /// and custom targets are checked by exactly the same table on both engines.
    pub fn wasm(
        module: &WasmModule,
        target: &Target,
        options: Options,
    ) -> Result<Engine, EngineError> {
        let spec = serde_json::to_string(target)
            .map_err(|e| EngineError(format!("cannot serialise the target: {e}")))?;
        Ok(Engine::Wasm(Box::new(module.session(&spec, options)?)))
    }

    /// Feeds the next chunk of the file at `path`; `Ok(false)` when the session wants no
    /// more of that file (a record went over a limit): the host stops reading it.
    pub fn push(&mut self, path: &str, chunk: &[u8]) -> Result<bool, EngineError> {
        match self {
            Engine::Native(s) => {
                s.push(path, chunk)?;
                Ok(s.wants(path))
            }
            Engine::Wasm(s) => s.push(path, chunk),
        }
    }

    /// Says how long the file at `path` should be ([`Session::size_hint`]).
    pub fn size_hint(&mut self, path: &str, bytes: u64) -> Result<(), EngineError> {
        match self {
            Engine::Native(s) => {
                s.size_hint(path, bytes);
                Ok(())
            }
            Engine::Wasm(s) => s.size_hint(path, bytes),
        }
    }

    /// Ends the file at `path`.
    pub fn finish_file(&mut self, path: &str) -> Result<(), EngineError> {
        match self {
            Engine::Native(s) => s.finish_file(path).map_err(Into::into),
            Engine::Wasm(s) => s.finish_file(path),
        }
    }

    /// Adds a finding the host made (e.g. a file the platform skips).
    pub fn add_finding(&mut self, finding: Finding) -> Result<(), EngineError> {
        match self {
            Engine::Native(s) => {
                s.add_finding(finding);
                Ok(())
            }
            Engine::Wasm(s) => s.add_finding(&finding),
        }
    }

    /// Ends the bundle and returns the report.
    pub fn finish(self) -> Result<Report, EngineError> {
        match self {
            Engine::Native(s) => Ok(s.finish()),
            Engine::Wasm(s) => {
                let json = s.finish_json()?;
                serde_json::from_str(&json).map_err(|e| {
                    EngineError(format!(
                        "wasm engine: the module's report is not a report: {e}"
                    ))
                })
            }
        }
    }
}

/// A compiled validator module; sessions are cheap to start from it.
#[derive(Clone)]
pub struct WasmModule {
    engine: wasmtime::Engine,
    module: Module,
    linker: Linker<()>,
}

impl fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmModule").finish_non_exhaustive()
    }
}

impl WasmModule {
    /// Compiles a module from its bytes (`.wasm` binary).
    pub fn from_bytes(bytes: &[u8]) -> Result<WasmModule, EngineError> {
        let engine =
            wasmtime::Engine::new(&engine_config()).map_err(wasm_err("cannot start wasmtime"))?;
        let module = Module::new(&engine, bytes).map_err(wasm_err("cannot compile the module"))?;
        let mut linker = Linker::new(&engine);
        // A raw cdylib imports wasm-bindgen placeholders, a wasm-bindgen-processed module
        // its JavaScript glue; the C ABI calls neither, so they may only trap.
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(wasm_err("cannot link the module"))?;
        let m = WasmModule {
            engine,
            module,
            linker,
        };
        // Instantiate once to check the ABI now rather than at the first file.
        let mut store = Store::new(&m.engine, ());
        let instance = m.instantiate(&mut store)?;
        let version: TypedFunc<(), u32> = func(&instance, &mut store, "pf_abi_version")?;
        let v = version
            .call(&mut store, ())
            .map_err(wasm_err("pf_abi_version"))?;
        if v != ABI_VERSION {
            return Err(EngineError(format!(
                "the module speaks Preflight C ABI version {v}, this preflight speaks {ABI_VERSION}"
            )));
        }
        Ok(m)
    }

    /// Compiles the module in a `.wasm` file: a build of `validator-wasm`, raw from cargo or
    /// processed by `wasm-bindgen` (e.g. `web-demo/pkg/validator_wasm_bg.wasm`).
    pub fn from_file(path: &Path) -> Result<WasmModule, EngineError> {
        let bytes = std::fs::read(path)
            .map_err(|e| EngineError(format!("cannot read '{}': {e}", path.display())))?;
        WasmModule::from_bytes(&bytes)
            .map_err(|e| EngineError(format!("module '{}': {e}", path.display())))
    }

    /// The module embedded in this binary.
    pub fn embedded() -> Result<WasmModule, EngineError> {
        if EMBEDDED_MODULE.is_empty() {
            return Err(EngineError(format!(
                "this preflight was built without the embedded wasm module ({}); pass --module FILE",
                EMBED_NOTE.trim()
            )));
        }
        WasmModule::from_bytes(EMBEDDED_MODULE)
    }

    fn instantiate(&self, store: &mut Store<()>) -> Result<Instance, EngineError> {
        self.linker
            .instantiate(&mut *store, &self.module)
            .map_err(wasm_err("cannot instantiate the module"))
    }

    /// Starts a session in a fresh instance. `target` is a built-in name or a target
    /// file's JSON text.
    pub fn session(&self, target: &str, options: Options) -> Result<WasmSession, EngineError> {
        let mut store = Store::new(&self.engine, ());
        let instance = self.instantiate(&mut store)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| EngineError("wasm engine: the module exports no memory".into()))?;
        let mut s = WasmSession {
            alloc: func(&instance, &mut store, "pf_alloc")?,
            free: func(&instance, &mut store, "pf_free")?,
            new: func(&instance, &mut store, "pf_session_new")?,
            push: func(&instance, &mut store, "pf_push")?,
            finish_file: func(&instance, &mut store, "pf_finish_file")?,
            // Optional: modules built before it was added run without it.
            size_hint: instance.get_typed_func(&mut store, "pf_size_hint").ok(),
            add_finding: func(&instance, &mut store, "pf_add_finding")?,
            finish: func(&instance, &mut store, "pf_finish")?,
            last_error: func(&instance, &mut store, "pf_last_error")?,
            store,
            memory,
            handle: 0,
            scratch: 0,
            scratch_len: 0,
        };
        let options = serde_json::json!({
            "max_findings_per_code": options.max_findings_per_code,
            "params": options.params,
            "max_record_bytes": options.max_record_bytes,
            "max_columns": options.max_columns,
            "row_verdicts": options.row_verdicts,
        })
        .to_string();
        let len = s.stage(&[target.as_bytes(), options.as_bytes()])?;
        let target_len = target.len() as u32;
        let handle = s
            .new
            .call(
                &mut s.store,
                (
                    s.scratch,
                    target_len,
                    s.scratch + target_len,
                    len - target_len,
                ),
            )
            .map_err(wasm_err("pf_session_new"))?;
        if handle == 0 {
            return Err(s.error("cannot start a session"));
        }
        s.handle = handle;
        Ok(s)
    }
}

fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<()>,
    name: &str,
) -> Result<TypedFunc<P, R>, EngineError> {
    instance.get_typed_func(&mut *store, name).map_err(|e| {
        EngineError(format!(
            "wasm engine: the module lacks the Preflight C ABI export `{name}` ({e}); \
             use a build of validator-wasm"
        ))
    })
}

/// A session inside one instance of the module.
pub struct WasmSession {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    new: TypedFunc<(u32, u32, u32, u32), u32>,
    push: TypedFunc<(u32, u32, u32, u32, u32), i32>,
    finish_file: TypedFunc<(u32, u32, u32), i32>,
    size_hint: Option<TypedFunc<(u32, u32, u32, u64), i32>>,
    add_finding: TypedFunc<(u32, u32, u32), i32>,
    finish: TypedFunc<u32, u64>,
    last_error: TypedFunc<(), u64>,
    handle: u32,
    /// A guest buffer reused for every call's inputs (path, then chunk).
    scratch: u32,
    scratch_len: u32,
}

impl fmt::Debug for WasmSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmSession")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl WasmSession {
    /// Writes `parts` one after another into the scratch buffer (grown as needed) and
    /// returns their total length.
    fn stage(&mut self, parts: &[&[u8]]) -> Result<u32, EngineError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let total = u32::try_from(total)
            .map_err(|_| EngineError("wasm engine: input larger than 4 GiB".into()))?;
        if total > self.scratch_len {
            if self.scratch_len > 0 {
                self.free
                    .call(&mut self.store, (self.scratch, self.scratch_len))
                    .map_err(wasm_err("pf_free"))?;
            }
            // Room for a 64 KiB chunk and its path, so normally one allocation per session.
            let len = total.max(64 * 1024 + 4096);
            self.scratch = self
                .alloc
                .call(&mut self.store, len)
                .map_err(wasm_err("pf_alloc"))?;
            self.scratch_len = len;
        }
        let mut at = self.scratch as usize;
        for p in parts {
            self.memory
                .write(&mut self.store, at, p)
                .map_err(|e| EngineError(format!("wasm engine: writing guest memory: {e}")))?;
            at += p.len();
        }
        Ok(total)
    }

    /// Reads `ptr << 32 | len` bytes out of guest memory.
    fn read_packed(&mut self, packed: u64) -> Result<Vec<u8>, EngineError> {
        let (ptr, len) = ((packed >> 32) as usize, (packed & 0xFFFF_FFFF) as usize);
        let mut out = vec![0u8; len];
        self.memory
            .read(&self.store, ptr, &mut out)
            .map_err(|e| EngineError(format!("wasm engine: reading guest memory: {e}")))?;
        Ok(out)
    }

    /// The guest's last error message, prefixed with what failed.
    fn error(&mut self, what: &str) -> EngineError {
        let msg = self
            .last_error
            .call(&mut self.store, ())
            .map_err(wasm_err("pf_last_error"))
            .and_then(|p| {
                if p == 0 {
                    Ok("no reason given".to_owned())
                } else {
                    self.read_packed(p)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                }
            });
        match msg {
            Ok(m) => EngineError(format!("{what}: {m}")),
            Err(e) => e,
        }
    }

    fn check(&mut self, status: i32, what: &str) -> Result<(), EngineError> {
        if status == 0 {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// Feeds the next chunk of the file at `path`; `Ok(false)` when the session wants no
    /// more of that file.
    pub fn push(&mut self, path: &str, chunk: &[u8]) -> Result<bool, EngineError> {
        let path_len = path.len() as u32;
        let total = self.stage(&[path.as_bytes(), chunk])?;
        let at = self.scratch;
        let status = self
            .push
            .call(
                &mut self.store,
                (self.handle, at, path_len, at + path_len, total - path_len),
            )
            .map_err(wasm_err("pf_push"))?;
        match status {
            WANTS_NO_MORE => Ok(false),
            s => self.check(s, "push").map(|()| true),
        }
    }

    /// Says how long the file at `path` should be ([`validator_core::Session::size_hint`]);
    /// nothing if the module has no `pf_size_hint`.
    pub fn size_hint(&mut self, path: &str, bytes: u64) -> Result<(), EngineError> {
        let Some(hint) = self.size_hint.clone() else {
            return Ok(());
        };
        let len = self.stage(&[path.as_bytes()])?;
        let status = hint
            .call(&mut self.store, (self.handle, self.scratch, len, bytes))
            .map_err(wasm_err("pf_size_hint"))?;
        self.check(status, "size hint")
    }

    /// Ends the file at `path`.
    pub fn finish_file(&mut self, path: &str) -> Result<(), EngineError> {
        let len = self.stage(&[path.as_bytes()])?;
        let status = self
            .finish_file
            .call(&mut self.store, (self.handle, self.scratch, len))
            .map_err(wasm_err("pf_finish_file"))?;
        self.check(status, "finish file")
    }

    /// Adds a finding the host made.
    pub fn add_finding(&mut self, finding: &Finding) -> Result<(), EngineError> {
        let json = serde_json::to_vec(finding)
            .map_err(|e| EngineError(format!("cannot serialise a finding: {e}")))?;
        let len = self.stage(&[&json])?;
        let status = self
            .add_finding
            .call(&mut self.store, (self.handle, self.scratch, len))
            .map_err(wasm_err("pf_add_finding"))?;
        self.check(status, "add finding")
    }

    /// Ends the bundle and returns the report exactly as the module serialised it
    /// (compact JSON, the bytes `serde_json::to_string(&Report)` gives natively).
    pub fn finish_json(mut self) -> Result<String, EngineError> {
        let packed = self
            .finish
            .call(&mut self.store, self.handle)
            .map_err(wasm_err("pf_finish"))?;
        if packed == 0 {
            return Err(self.error("finish"));
        }
        let bytes = self.read_packed(packed)?;
        // The instance is dropped with the session; freeing keeps the protocol honest.
        self.free
            .call(
                &mut self.store,
                ((packed >> 32) as u32, (packed & 0xFFFF_FFFF) as u32),
            )
            .map_err(wasm_err("pf_free"))?;
        String::from_utf8(bytes)
            .map_err(|e| EngineError(format!("wasm engine: the report is not UTF-8: {e}")))
    }
}
