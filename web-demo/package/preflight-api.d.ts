// Types of the package's main entry (`preflight-check`). The report types (Report, Finding,
// FileReport, ...) and Session come from the wasm bindings' declarations; the report's are
// generated from the Rust types (validator-wasm/src/report.d.ts).
import type { Report, SessionOptions, TargetFile, Progress, DiffOptions, DiffReport } from "./pkg/validator_wasm.js";
export type { Report, Finding, FileReport, Severity, Summary, Omitted, Progress, SessionOptions, BundleOptions, BundleSummary, TargetFile, DiffOptions, DiffReport, DiffKind, DiffChange, DiffSide } from "./pkg/validator_wasm.js";
export { Diff, Session, targets, targetFromText } from "./pkg/validator_wasm.js";

/** A file for check(): bytes, a File, or a stream read once. */
export type CheckFile =
  | { path: string; bytes: Uint8Array }
  | { path: string; stream: ReadableStream<Uint8Array> }
  | File;

/** Settings of check(). */
export interface CheckOptions extends Omit<SessionOptions, "bundle"> {
  /** Called at most every 100 ms while files are read. */
  onProgress?: (progress: Progress & { file: string }) => void;
}

/** Loads the WebAssembly module (once); check() calls it itself. */
export function ready(): Promise<{ memory: WebAssembly.Memory }>;

/**
 * Checks files as `preflight check --format json` does; resolves to the same report.
 * `target`: a built-in name, "auto", a target-file object, or a target file's text (JSON,
 * TOML, Table Schema or Data Package).
 */
export function check(target: string | TargetFile, files: Iterable<CheckFile>, options?: CheckOptions): Promise<Report>;

/**
 * What uploading `newFiles` changes compared with `oldFiles`; resolves to the JSON of
 * `preflight diff --format json OLD NEW`. The old files are read twice: bytes or Files.
 */
export function diff(
  target: string | TargetFile,
  oldFiles: Iterable<CheckFile>,
  newFiles: Iterable<CheckFile>,
  options?: DiffOptions,
): Promise<DiffReport>;
