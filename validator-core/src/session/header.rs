//! The header row: the kind it is detected as (or the kind the file's path binds it to,
//! read by position), blank, duplicate, padded and unknown names, and the kind's header
//! contract.

use crate::keys::{FixedMap, FixedSet};

use super::FileCheck;
use super::file::bound_kind;
use super::row::breaks_in_record;
use crate::detect;
use crate::reader::{QuoteError, Record};
use crate::report::Severity;
use crate::rules::Compiled;
use crate::schema::BlankRow;

impl FileCheck {
    pub(super) fn header_row(&mut self, rec: &Record<'_>, text: &str, c: &Compiled) {
        let cells: Vec<String> = (0..rec.len())
            .map(|i| text.get(rec.field_range(i)).unwrap_or("").to_owned())
            .collect();
        self.header = cells;
        if c.target.dialect.blank_row == BlankRow::FirstOfEachHeader {
            // Ruby's `CSV::Row#to_hash`: the first cell of each distinct header name (as
            // read: lower-cased, not stripped); blank header cells and cells past the
            // header share the name nil.
            let mut seen = FixedSet::default();
            let mut cells: Vec<usize> = Vec::new();
            let mut nil_at = None;
            for (i, h) in self.header.iter().enumerate() {
                if h.is_empty() {
                    nil_at.get_or_insert(i);
                } else if seen.insert(h.to_lowercase()) {
                    cells.push(i);
                }
            }
            cells.push(nil_at.unwrap_or(self.header.len()));
            self.blank_cells = Some(cells);
        }
        let rules = &c.target.header;
        let names: Vec<String> = self
            .header
            .iter()
            .map(|h| detect::detection_name(rules, h))
            .collect();
        if rec
            .quote_issues
            .iter()
            .any(|q| q.error == QuoteError::Unclosed)
        {
            // The header itself cannot be parsed: no kind, as on the server.
            return;
        }
        let bound = bound_kind(c, &self.path);
        if let Some(k) = bound.filter(|&k| c.target.kinds[k].positional.is_some()) {
            self.positional_header(k, rec, text, c, true);
            return;
        }
        // First position of each name: duplicates in linear time, however wide the header.
        let mut first_at: FixedMap<&str, usize> =
            FixedMap::with_capacity_and_hasher(names.len(), Default::default());
        for (i, n) in names.iter().enumerate() {
            first_at.entry(n.as_str()).or_insert(i);
        }
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                self.note(
                    c,
                    "header.blank",
                    Severity::Info,
                    Some(1),
                    Some(rec.line),
                    Some(i),
                    None,
                    || format!("header cell {} is blank; its column is ignored", i + 1),
                );
            } else if let Some(first) = first_at.get(n.as_str()).copied().filter(|&f| f < i) {
                let n = n.clone();
                self.note(
                    c,
                    "header.duplicate",
                    Severity::Warning,
                    Some(1),
                    Some(rec.line),
                    Some(i),
                    Some(&n),
                    || {
                        format!(
                            "`{n}` appears twice (columns {} and {}); only the first is read",
                            first + 1,
                            i + 1
                        )
                    },
                );
            }
        }
        let Some(kind) = bound.or_else(|| detect::first_match(&c.target, &names)) else {
            let diagnosis = detect::near_miss(&c.target, &names);
            let t = c.target.title().to_owned();
            self.note(
                c,
                "detect.unknown_kind",
                Severity::Error,
                Some(1),
                Some(rec.line),
                None,
                None,
                || {
                    let hint = &c.target.unknown_kind_hint;
                    let sep = if diagnosis.ends_with(['.', '?']) {
                        " "
                    } else {
                        ". "
                    };
                    let hint = if hint.is_empty() {
                        String::new()
                    } else {
                        format!("{sep}{hint}")
                    };
                    format!("the header matches no {t} file kind; {diagnosis}{hint}")
                },
            );
            return;
        };
        self.kind = Some(kind);
        let ck = &c.kinds[kind];
        let kind_def = &c.target.kinds[kind];
        let canonical = |n: String| {
            let m = kind_def.canonical(&n);
            if m == n {
                n
            } else {
                detect::detection_name(rules, m)
            }
        };
        let reading: Vec<String> = self
            .header
            .iter()
            .map(|h| canonical(detect::reading_name(rules, h)))
            .collect();
        drop(first_at);
        let names: Vec<String> = names.into_iter().map(canonical).collect();
        let mut first_at: FixedMap<&str, usize> =
            FixedMap::with_capacity_and_hasher(names.len(), Default::default());
        for (i, n) in names.iter().enumerate() {
            first_at.entry(n.as_str()).or_insert(i);
        }
        // Columns the platform reads by their exact cell; a padded cell is reported once
        // (header.padded) and its values are still checked, as the bundle will repair it.
        let strict: Vec<Option<usize>> = ck
            .columns
            .iter()
            .map(|col| reading.iter().position(|r| r == col))
            .collect();
        self.positions = ck
            .columns
            .iter()
            .zip(&strict)
            .map(|(col, s)| s.or_else(|| names.iter().position(|n| n == col)))
            .collect();
        let kind_name = c.target.kinds[kind].name.clone();
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() || first_at.get(n.as_str()) != Some(&i) {
                continue;
            }
            match ck.columns.iter().position(|col| col == n) {
                Some(k) if strict[k].is_none() => {
                    let raw = self.header[i].clone();
                    let t = c.target.title().to_owned();
                    self.note(c, "header.padded", Severity::Error, Some(1), Some(rec.line), Some(i), Some(&raw), || {
                        format!("header cell `{raw}` has spaces around `{n}`: {t} detects the file as {kind_name} but then reads `{n}` as blank on every row; remove the spaces (`preflight bundle` does)")
                    });
                }
                Some(_) => {}
                None => {
                    let n = self.header[i].trim().to_owned();
                    let sev = kind_def.unknown_columns;
                    let t = c.target.title().to_owned();
                    self.note(
                        c,
                        "header.unknown",
                        sev,
                        Some(1),
                        Some(rec.line),
                        Some(i),
                        Some(&n),
                        || {
                            if sev == Severity::Error {
                                format!("`{n}` is not a {kind_name} column; {t} rejects the file")
                            } else {
                                format!("`{n}` is not a {kind_name} column; it is ignored")
                            }
                        },
                    );
                }
            }
        }
        self.header_contract(c, kind, &names, rec.line);
        if let Some(better) = detect::trap(&c.target, kind, &names) {
            let better = &c.target.kinds[better];
            let predicate = c.target.kinds[kind].detect.all.join("` and `");
            let extra: Vec<&String> = names
                .iter()
                .filter(|n| !n.is_empty() && !better.columns.contains(n))
                .collect();
            let t = c.target.title().to_owned();
            self.note(c, "detect.first_match_trap", Severity::Warning, Some(1), Some(rec.line), None, None, || {
                let extra = if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; remove {} to have it read as {}",
                        extra.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", "),
                        better.name
                    )
                };
                format!(
                    "{t} reads this file as {kind_name} (it has `{predicate}`, and the first matching kind wins), but its columns fit {} better{extra}",
                    better.name
                )
            });
        }
    }

    /// Header rules beyond detection: required columns, column order, the host-supplied
    /// parameter and the file name, where the kind asks for them.
    fn header_contract(&mut self, c: &Compiled, kind: usize, names: &[String], line: u64) {
        let k = &c.target.kinds[kind];
        let rules = &c.target.header;
        let t = c.target.title().to_owned();
        if k.case_sensitive_header {
            for i in 0..self.header.len() {
                let cell = self.header[i].trim().to_owned();
                if k.columns.contains(&cell) {
                    continue;
                }
                let Some(col) = k
                    .columns
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(&cell) && **c != cell)
                    .cloned()
                else {
                    continue;
                };
                self.note(c, "header.case", Severity::Error, Some(1), Some(line), Some(i), Some(&cell), || {
                    format!("`{cell}` must be written exactly `{col}`; {t} matches these headers case-sensitively")
                });
            }
        }
        for col in &k.required_columns {
            let want = detect::detection_name(rules, col);
            if !names.contains(&want) {
                let (col, kname) = (col.clone(), k.name.clone());
                self.note(c, "header.missing_column", Severity::Error, Some(1), Some(line), None, Some(&col), || {
                    format!("the header has no `{col}` column; {t} needs every {kname} column present, even if blank")
                });
            }
        }
        if k.ordered_columns {
            let mut at: FixedMap<String, usize> =
                FixedMap::with_capacity_and_hasher(k.columns.len(), Default::default());
            for (i, c) in k.columns.iter().enumerate() {
                at.entry(detect::detection_name(rules, c)).or_insert(i);
            }
            let order: Vec<usize> = names.iter().filter_map(|n| at.get(n).copied()).collect();
            if let Some(w) = order.windows(2).position(|w| w[0] > w[1]) {
                let (col, at) = (k.columns[order[w + 1]].clone(), w + 1);
                let expected = k.columns.join(",");
                self.note(c, "header.order", Severity::Error, Some(1), Some(line), Some(at), Some(&col), || {
                    format!("`{col}` is out of order; {t} wants the columns in this order: {expected}")
                });
            }
        }
        if let Some(p) = &k.parameter {
            let given = self.params.get(&p.name).cloned();
            let values = p.values.join("|");
            let name = p.name.clone();
            match given {
                None => self.note(c, "param.missing", p.when_missing, Some(1), Some(line), None, None, || {
                    format!("{} files need a {name} ({values}), sent with the upload; pass --param {name}=VALUE", k.name)
                }),
                Some(v) if !p.values.iter().any(|x| x.eq_ignore_ascii_case(&v)) => {
                    self.note(c, "param.invalid", Severity::Error, Some(1), Some(line), None, Some(&v), || {
                        format!("{name} `{v}` is not one of {values}")
                    })
                }
                Some(_) => {}
            }
        }
        if c.target.fixed_file_names {
            let base = self
                .path
                .rsplit('/')
                .next()
                .unwrap_or(&self.path)
                .to_owned();
            if base != k.file_name {
                let want = k.file_name.clone();
                self.note(
                    c,
                    "file.name",
                    Severity::Error,
                    None,
                    None,
                    None,
                    Some(&base),
                    || format!("{t} identifies this file by its name: call it `{want}`"),
                );
            }
        }
    }

    /// A kind read by position (Frictionless): labels compared with the fields one by one
    /// (blank, duplicate, incorrect, extra and missing labels are errors), rows read by
    /// position whatever the labels say.
    pub(super) fn positional_header(
        &mut self,
        kind: usize,
        rec: &Record<'_>,
        text: &str,
        c: &Compiled,
        has_header: bool,
    ) {
        self.kind = Some(kind);
        let ck = &c.kinds[kind];
        let k = &c.target.kinds[kind];
        let fields = k.columns.len();
        let labels_len = if has_header { rec.len() } else { fields };
        // As many fields are read as there are labels.
        self.positions = (0..ck.columns.len())
            .map(|i| (i < fields && i < labels_len).then_some(i))
            .collect();
        let p = k
            .positional
            .clone()
            .unwrap_or_else(|| crate::schema::Positional {
                header: true,
                delimiter: None,
                missing_values: vec![String::new()],
            });
        if let Some(d) = p.delimiter
            && u32::from(self.delimiter) != d as u32
        {
            let found = self.delimiter as char;
            self.note(
                c,
                "csv.delimiter",
                Severity::Error,
                Some(1),
                Some(rec.line),
                None,
                None,
                || format!("the file is `{found}`-separated; its dialect says `{d}`"),
            );
        }
        if !has_header {
            self.header = k.columns.clone();
            return;
        }
        self.next_line = rec.line + breaks_in_record(rec.bytes()) + 1;
        let labels: Vec<String> = (0..rec.len())
            .map(|i| text.get(rec.field_range(i)).unwrap_or("").to_owned())
            .collect();
        let line = rec.line;
        let mut first_at: FixedMap<&str, usize> =
            FixedMap::with_capacity_and_hasher(labels.len(), Default::default());
        let mut notes: Vec<(&'static str, usize, String, String)> = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let earlier = first_at.entry(label.as_str()).or_insert(i);
            if i >= fields {
                notes.push((
                    "header.extra_label",
                    i,
                    label.clone(),
                    format!("label `{label}` has no field in the schema ({fields} fields)"),
                ));
                continue;
            }
            let name = &k.columns[i];
            if label.is_empty() {
                notes.push((
                    "header.blank",
                    i,
                    String::new(),
                    format!("label {} is blank; the schema says `{name}`", i + 1),
                ));
            } else if *earlier < i {
                notes.push((
                    "header.duplicate",
                    i,
                    label.clone(),
                    format!("label `{label}` repeats column {}", *earlier + 1),
                ));
            } else if label != name {
                notes.push((
                    "header.incorrect_label",
                    i,
                    label.clone(),
                    format!("label `{label}` should be `{name}`; the column is read as `{name}`"),
                ));
            }
        }
        for (i, name) in k.columns.iter().enumerate().skip(labels.len()) {
            notes.push((
                "header.missing_label",
                i,
                name.clone(),
                format!(
                    "the header has no label for field `{name}` (column {})",
                    i + 1
                ),
            ));
        }
        drop(first_at);
        self.header = labels;
        for (code, i, value, message) in notes {
            self.note(
                c,
                code,
                Severity::Error,
                Some(1),
                Some(line),
                Some(i),
                Some(&value),
                || message,
            );
        }
    }
}
