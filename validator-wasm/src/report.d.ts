// Generated from validator-core's report types by ts-rs (validator_core::report_ts).
// Do not edit: UPDATE_REPORT_TS=1 cargo test -p validator-wasm --test report_types

/**
 * How bad a finding is. Errors mean the platform rejects the row or the file.
 */
export type Severity = "error" | "warning" | "info";

/**
 * One located problem.
 */
export type Finding = {
  /**
   * Stable identifier, e.g. `row.required`.
   */
  code: string,
  /**
   * Error, warning or info.
   */
  severity: Severity,
  /**
   * Path of the file (relative to the input folder or ZIP root), null for bundle-wide findings.
   */
  file: string | null,
  /**
   * Record number, header = row 1 (as Canvas and Watershed count). Blank lines are not counted.
   */
  row: number | null,
  /**
   * Physical line (1-based) where the record starts, or where the byte is.
   */
  line: number | null,
  /**
   * Header name of the column, if the finding is about one cell.
   */
  column: string | null,
  /**
   * 1-based position of the column in the header.
   */
  column_number: number | null,
  /**
   * The offending value, truncated to [`MAX_VALUE_CHARS`] characters.
   */
  value: string | null,
  /**
   * Our explanation.
   */
  message: string,
  /**
   * The platform's own message for this problem, where one exists.
   */
  platform_message: string | null,
};

/**
 * Totals for one finding code whose findings were capped.
 */
export type Omitted = {
  /**
   * The finding code.
   */
  code: string,
  /**
   * Findings of this code left out of the list.
   */
  omitted: number,
  /**
   * Findings of this code in all.
   */
  total: number,
};

/**
 * What was found in one file.
 */
export type FileReport = {
  /**
   * Path relative to the input folder or ZIP root.
   */
  path: string,
  /**
   * Detected kind (the platform's name for it), null when unrecognised.
   */
  kind: string | null,
  /**
   * Data rows (records after the header, blank lines not counted).
   */
  rows: number,
  /**
   * Bytes read.
   */
  bytes: number,
  /**
   * Encoding assumed: `UTF-8`, `UTF-16LE` or `UTF-16BE`.
   */
  encoding: string,
  /**
   * Whether a byte-order mark was present (and stripped).
   */
  bom: boolean,
  /**
   * Delimiter assumed: `,`, `;`, `\t` or `|`.
   */
  delimiter: string,
  /**
   * Line ending seen first: `LF`, `CRLF`, `CR`, or null for a one-line file.
   */
  line_ending: string | null,
  /**
   * The header as read (before any case folding or trimming).
   */
  header: Array<string>,
  /**
   * Findings in this file, ordered by row.
   */
  findings: Array<Finding>,
  /**
   * Codes whose findings were capped, with exact totals.
   */
  omitted: Array<Omitted>,
};

/**
 * Error/warning/info totals. Counts include findings left out by the caps.
 */
export type Summary = {
  /**
   * Number of error findings.
   */
  errors: number,
  /**
   * Number of warning findings.
   */
  warnings: number,
  /**
   * Number of info findings.
   */
  infos: number,
  /**
   * Files in the report.
   */
  files: number,
  /**
   * Data rows over all files.
   */
  rows: number,
};

/**
 * The validation report of a bundle.
 */
export type Report = {
  /**
   * [`REPORT_VERSION`].
   */
  version: number,
  /**
   * Target name, e.g. `canvas`.
   */
  target: string,
  /**
   * One entry per file, in the order the host pushed them.
   */
  files: Array<FileReport>,
  /**
   * Bundle-level findings (not tied to one file).
   */
  findings: Array<Finding>,
  /**
   * Bundle-level codes whose findings were capped.
   */
  omitted: Array<Omitted>,
  /**
   * Totals.
   */
  summary: Summary,
};
