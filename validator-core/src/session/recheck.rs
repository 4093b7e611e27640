//! One edited row checked again, without reading the bundle again: what a host that lets
//! people fix a cell in place shows at once.
//!
//! The row is read with its file's header, kind, delimiter, parameters and manifest mode,
//! as the session saw them, and every rule that reads only the row runs on it. Rules that
//! compare rows (ids, references, claims: [`cross_row`]) need the whole bundle and are not
//! run: a host re-checks the bundle for them. Costs one row (plus compiling the target's
//! row rules), whatever the bundle's size. The session is not changed, so its report is
//! the same with or without these calls.

use super::*;
use crate::reader::{ReadDialect, RecordReader};
use crate::schema::{Check, RowSeparator};

/// Checks that compare a row with other rows (of its file or of the bundle).
pub(crate) fn cross_row(check: &Check) -> bool {
    matches!(
        check,
        Check::Unique { .. }
            | Check::Reference { .. }
            | Check::Consistent { .. }
            | Check::ReferenceWhere { .. }
            | Check::TypedUnique { .. }
            | Check::ForeignKey { .. }
    )
}

impl Session {
    /// Checks `record` (one CSV record of the file at `path`, UTF-8, without its line
    /// break) as data row `row` starting on physical line `line`, with the rules that read
    /// only the row (uniqueness, references and consistency with other rows are left out:
    /// they need the bundle). Returns its findings (row and line as given), or `None` when
    /// the file was not read, has no kind, or `row` is the header. Only the first record of
    /// `record` is read. Fails only if the target is inconsistent.
    pub fn recheck_row(
        &self,
        path: &str,
        row: u64,
        line: u64,
        record: &[u8],
    ) -> Result<Option<Vec<Finding>>, Error> {
        let Some(&i) = self.by_path.get(path) else {
            return Ok(None);
        };
        let f = &self.files[i].check;
        if row < 2 || f.kind.is_none() || f.records == 0 {
            return Ok(None);
        }
        let mut target = self.compiled.target.clone();
        for k in &mut target.kinds {
            k.rules.retain(|r| !cross_row(&r.check));
        }
        // Same kinds in the same order: kind indices and column positions carry over.
        let compiled = Compiled::new(target)?;
        let mut index = Index::new(&compiled);
        index.modes = self.index.modes.clone();
        let mut check = FileCheck {
            file: f.file,
            path: f.path.clone(),
            params: f.params.clone(),
            mode: f.mode.clone(),
            sink: Sink::new(u64::MAX),
            bytes: 0,
            delimiter: f.delimiter,
            line_ending: f.line_ending,
            records: row - 1,
            header: f.header.clone(),
            kind: f.kind,
            positions: f.positions.clone(),
            invalid: Default::default(),
            limits: f.limits,
            work: Work::default(),
            stopped: false,
            blank_cells: f.blank_cells.clone(),
            next_line: line,
            empty_lines: 0,
            count_lines: false,
            newlines: 0,
            last_byte: 0,
            ahead_key: String::new(),
            loads: Vec::new(),
            row_plan: None,
            size_hint: None,
            fill_base: Vec::new(),
            presize_at: u64::MAX,
        };
        let dialect = &self.compiled.target.dialect;
        let mut reader = RecordReader::with_dialect(
            f.delimiter,
            f.line_ending,
            f.limits,
            ReadDialect {
                first_line_ending: dialect.row_separator == RowSeparator::FirstInFile,
                one_bom: dialect.one_bom,
            },
        );
        let mut progress = Progress::default();
        let mut seen = false;
        let mut emit = |rec: &Record<'_>| {
            if !seen {
                seen = true;
                check.record(rec, &compiled, &mut index, &self.paths, &mut progress, None);
            }
        };
        reader.feed(record, &mut emit);
        reader.finish(&mut emit);
        let mut findings = check.sink.findings;
        for x in &mut findings {
            // The reader counted lines from 1: the record starts on `line`.
            x.line = x.line.map(|l| l + line - 1);
        }
        sort_findings(&mut findings);
        Ok(Some(findings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets;

    const USERS: &[u8] =
        b"user_id,login_id,status\r\nu1,l1,active\r\nu2,l2,bogus\r\nu1,l3,active\r\n";

    fn session() -> Session {
        let mut s = Session::new(targets::builtin("canvas").unwrap()).unwrap();
        s.push("users.csv", USERS).unwrap();
        s.finish_file("users.csv").unwrap();
        s
    }

    fn report_of(bytes: &[u8]) -> Report {
        let mut s = Session::new(targets::builtin("canvas").unwrap()).unwrap();
        s.push("users.csv", bytes).unwrap();
        s.finish()
    }

    #[test]
    fn the_row_as_the_whole_check_sees_it() {
        let s = session();
        let full = report_of(USERS);
        let on_row_3: Vec<Finding> = full.files[0]
            .findings
            .iter()
            .filter(|f| f.row == Some(3))
            .cloned()
            .collect();
        assert_eq!(on_row_3.len(), 1, "{:?}", full.files[0].findings);
        assert_eq!(
            s.recheck_row("users.csv", 3, 3, b"u2,l2,bogus").unwrap(),
            Some(on_row_3)
        );
        // Fixed: nothing left on the row, as the whole check of the fixed file says.
        assert_eq!(
            s.recheck_row("users.csv", 3, 3, b"u2,l2,active").unwrap(),
            Some(vec![])
        );
        let fixed = report_of(
            b"user_id,login_id,status\r\nu1,l1,active\r\nu2,l2,active\r\nu1,l3,active\r\n",
        );
        assert!(fixed.files[0].findings.iter().all(|f| f.row != Some(3)));
        // Another rule, another line: row and line as given, the column located.
        let f = s
            .recheck_row("users.csv", 40, 52, b"u9,,active")
            .unwrap()
            .unwrap();
        assert_eq!(
            f.iter()
                .map(|f| (f.code.as_str(), f.row, f.line, f.column.as_deref()))
                .collect::<Vec<_>>(),
            [("row.required", Some(40), Some(52), Some("login_id"))]
        );
    }

    #[test]
    fn quoting_and_short_rows_are_row_findings_too() {
        let s = session();
        let f = s
            .recheck_row("users.csv", 3, 3, b"u2,l\"2,active")
            .unwrap()
            .unwrap();
        assert_eq!(f[0].code, "csv.quote_in_unquoted");
        let f = s.recheck_row("users.csv", 3, 3, b"u2,l2").unwrap().unwrap();
        assert!(f.iter().any(|f| f.code == "csv.short_row"), "{f:?}");
    }

    #[test]
    fn rows_compared_with_other_rows_are_left_to_the_bundle_check() {
        let s = session();
        // Row 4 repeats u1: the whole check says so, a one-row re-check cannot.
        assert!(
            report_of(USERS).files[0]
                .findings
                .iter()
                .any(|f| f.row == Some(4) && f.code.starts_with("dup."))
        );
        assert_eq!(
            s.recheck_row("users.csv", 4, 4, b"u1,l3,active").unwrap(),
            Some(vec![])
        );
        // The session is unchanged: its report is the same as without the re-checks.
        assert_eq!(s.finish(), report_of(USERS));
    }

    #[test]
    fn no_row_to_check() {
        let s = session();
        assert_eq!(s.recheck_row("users.csv", 1, 1, b"user_id").unwrap(), None);
        assert_eq!(s.recheck_row("other.csv", 3, 3, b"a,b").unwrap(), None);
        let mut t = Session::new(targets::builtin("canvas").unwrap()).unwrap();
        t.push("notes.csv", b"what,ever\n1,2\n").unwrap();
        assert_eq!(t.recheck_row("notes.csv", 2, 2, b"1,2").unwrap(), None);
    }

    #[test]
    fn cross_row_checks_are_the_comparing_ones() {
        let canvas = targets::builtin("canvas").unwrap();
        let all: Vec<&Check> = canvas
            .kinds
            .iter()
            .flat_map(|k| k.rules.iter().map(|r| &r.check))
            .collect();
        assert!(all.iter().any(|c| cross_row(c)) && all.iter().any(|c| !cross_row(c)));
        assert!(!cross_row(&Check::Required { column: "x".into() }));
    }
}
