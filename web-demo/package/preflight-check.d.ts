// `import "preflight-check/element"` registers <preflight-check>.
import type { Report, BundleSummary, Finding } from "./pkg/validator_wasm.js";

export interface PreflightReportDetail {
  report: Report;
  target: string;
  stats: { ms: number; bytes: number; wasmMemory: number };
  /** After an edit or undo: the edits the report reflects. */
  edits?: PreflightEdit[];
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
  /** The selected finding of the findings grid, if any. */
  readonly selectedFinding: Finding | null;
  /** Cell edits since the last check, in the order made (one per cell). */
  readonly edits: PreflightEdit[];
  /** Selects the finding at a position of the list as shown; `open` shows its lines. */
  select(position: number, options?: { open?: boolean }): Promise<void> | void;
  /** Replaces the finding's cell with `value`, re-checks, resolves to the new report. */
  edit(finding: Finding, value: string): Promise<Report>;
  /** Undoes `edits[index]`, re-checks, resolves to the new report. */
  undo(index: number): Promise<Report>;
  /** Downloads every edited file (edits applied); resolves to them. */
  downloadCorrected(): Promise<{ path: string; blob: Blob }[]>;
}

/** One cell edit: where, and the value before and after. */
export interface PreflightEdit {
  path: string;
  row: number;
  line: number;
  column: string | null;
  columnNumber: number;
  old: string;
  new: string;
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
