//! WebAssembly bindings of the validator core, for browsers and portals.
//!
//! JS contract (add freely, do not rename): `new Session(target)` with a built-in target
//! name (`"canvas"`) or a target-file object; `push(path, chunk)` any number of times per
//! file; `finishFile(path)`; `finish()` returns the report as a plain object deep-equal to
//! `preflight check --format json`; `progress()`; `targets()`. Usage errors throw JS
//! `Error`s; findings never do.
//!
//! The report crosses the boundary as JSON text parsed by `JSON.parse`, so numbers and
//! field names are exactly those of the CLI's JSON.

use wasm_bindgen::prelude::*;

/// A validation session (one bundle).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Session {
    inner: Option<validator_core::Session>,
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[wasm_bindgen]
impl Session {
    /// `target`: a built-in target name, or a target-file object.
    #[wasm_bindgen(constructor)]
    pub fn new(target: JsValue) -> Result<Session, JsError> {
        let target = if let Some(name) = target.as_string() {
            validator_core::targets::builtin(&name)
                .ok_or_else(|| js_err(validator_core::Error::UnknownTarget(name)))?
        } else {
            let text = js_sys::JSON::stringify(&target)
                .map_err(|_| js_err("target must be a name or a target-file object"))?
                .as_string()
                .unwrap_or_default();
            serde_json::from_str(&text).map_err(|e| js_err(format!("invalid target file: {e}")))?
        };
        let inner = validator_core::Session::new(target).map_err(js_err)?;
        Ok(Session { inner: Some(inner) })
    }

    fn session(&mut self) -> Result<&mut validator_core::Session, JsError> {
        self.inner
            .as_mut()
            .ok_or_else(|| js_err("this session is finished"))
    }

    /// Feeds the next chunk of the file at `path`.
    pub fn push(&mut self, path: &str, chunk: &[u8]) -> Result<(), JsError> {
        self.session()?.push(path, chunk).map_err(js_err)?;
        Ok(())
    }

    /// Ends the file at `path`.
    #[wasm_bindgen(js_name = finishFile)]
    pub fn finish_file(&mut self, path: &str) -> Result<(), JsError> {
        self.session()?.finish_file(path).map_err(js_err)
    }

    /// Bytes, rows and files seen so far: `{bytes, rows, files}`.
    pub fn progress(&mut self) -> Result<JsValue, JsError> {
        let p = self.session()?.progress();
        to_js(&p)
    }

    /// Ends the bundle and returns the report.
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let s = self
            .inner
            .take()
            .ok_or_else(|| js_err("this session is finished"))?;
        to_js(&s.finish())
    }
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(v).map_err(js_err)?;
    js_sys::JSON::parse(&text).map_err(|_| js_err("report is not valid JSON"))
}

/// Names of the built-in targets.
#[wasm_bindgen]
pub fn targets() -> Vec<String> {
    validator_core::targets::NAMES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}
