//! WebAssembly bindings (filled in by the browser issue).
