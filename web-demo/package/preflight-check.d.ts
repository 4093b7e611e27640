// `import "preflight-check/element"` registers <preflight-check>.
import type { Report, BundleSummary } from "./pkg/validator_wasm.js";

export interface PreflightReportDetail {
  report: Report;
  target: string;
  stats: { ms: number; bytes: number; wasmMemory: number };
}

export interface PreflightBundleDetail {
  bytes: Uint8Array;
  blob: Blob;
  format: "zip" | "csv";
  summary: BundleSummary;
  rejects: string | null;
}

export declare class PreflightCheck extends HTMLElement {
  /** Resolves once the Worker is ready: `{targets, bundle}`. */
  readonly ready: Promise<{ targets: string[]; bundle: boolean }>;
  /** The last report, if any. */
  readonly report: Report | null;
  /** Builds the bundle of the last check (fires `preflight-bundle`, downloads it). */
  bundle(options?: { dropInvalid?: boolean; timestamp?: string }): Promise<Uint8Array>;
}

declare global {
  interface HTMLElementTagNameMap {
    "preflight-check": PreflightCheck;
  }
  interface HTMLElementEventMap {
    "preflight-report": CustomEvent<PreflightReportDetail>;
    "preflight-bundle": CustomEvent<PreflightBundleDetail>;
    "preflight-error": CustomEvent<{ message: string }>;
  }
}
