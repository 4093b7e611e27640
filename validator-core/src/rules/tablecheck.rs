//! Table Schema checks on rows: a typed field and its constraints, typed uniqueness
//! (unique fields, `uniqueKeys`, the primary key) and foreign keys, composite and
//! self-referencing, resolved when the bundle is complete (Frictionless looks a key up in
//! the whole referenced resource, rows before and after alike).

use super::{CKind, CRule, Col, Compiled, Emit, Emits, Index, Loc, Row, Says};
use crate::keys::Keys;
use crate::report::{Finding, Sink, truncate_value};
use crate::tableschema::{Failure, Field, FieldReader};

/// The referenced side of a foreign key.
#[derive(Debug)]
pub(crate) struct FkSpec {
    /// Referenced kind.
    pub kind: usize,
    /// Its key columns.
    pub cols: Vec<Col>,
    pub readers: Vec<FieldReader>,
}

/// A foreign key not found when its row was read.
#[derive(Debug)]
struct FkPending {
    fk: u32,
    kind: u16,
    rule: u16,
    file: u32,
    row: u64,
    line: u64,
    column_number: u32,
    key: Box<str>,
    shown: Box<str>,
}

/// Foreign-key state and reused buffers.
#[derive(Debug)]
pub(crate) struct State {
    /// Keys of each foreign key's referenced rows.
    fk_keys: Vec<Keys>,
    pending: Vec<FkPending>,
    key: String,
    scratch: String,
    failures: Vec<Failure>,
}

impl State {
    pub fn new(c: &Compiled) -> State {
        State {
            fk_keys: c.fks.iter().map(|_| Keys::default()).collect(),
            pending: Vec::new(),
            key: String::new(),
            scratch: String::new(),
            failures: Vec::new(),
        }
    }
}

pub(crate) fn reader(f: &Field) -> Result<FieldReader, String> {
    FieldReader::new(f)
}

pub(crate) fn readers(fields: &[Field]) -> Result<Vec<FieldReader>, String> {
    fields.iter().map(FieldReader::new).collect()
}

/// Type and constraints of one cell.
pub(crate) fn field(
    rule: &CRule,
    row: &Row<'_>,
    col: Col,
    reader: &FieldReader,
    format: &str,
    index: &mut Index,
    emit: &mut Emit<'_>,
) {
    // A field past the header's labels is not read (Frictionless reads as many fields as
    // there are labels).
    if row.positions[col].is_none() {
        return;
    }
    let cell = row.cell(col);
    let st = &mut index.ts;
    reader.check(cell, &mut st.key, &mut st.failures);
    let v = cell.unwrap_or("");
    for &f in &st.failures {
        let says = Says {
            code: f.code(),
            ..Says::of(rule)
        };
        let name = &row.columns[col];
        emit.cell(says, row, Some(col), v, || match f {
            Failure::Type => format!("`{}` is not {}", truncate_value(v), reader.expected(format)),
            Failure::Required if cell.is_none() => {
                format!("`{name}` is required, and this row has no cell for it")
            }
            Failure::Required => format!("`{name}` is required but missing"),
            Failure::MinLength => format!(
                "`{name}` is shorter than its minLength of {}",
                reader.length_limits().0.unwrap_or(0)
            ),
            Failure::MaxLength => format!(
                "`{name}` is longer than its maxLength of {}",
                reader.length_limits().1.unwrap_or(0)
            ),
            Failure::Minimum => format!("`{}` is below the minimum of `{name}`", truncate_value(v)),
            Failure::Maximum => format!("`{}` is above the maximum of `{name}`", truncate_value(v)),
            Failure::Pattern => format!(
                "`{}` does not match the pattern of `{name}`",
                truncate_value(v)
            ),
            Failure::Enum => format!(
                "`{}` is not a valid {name}; expected one of: {}",
                truncate_value(v),
                super::list_values(reader.enum_values())
            ),
        });
    }
}

/// Builds the key of `cols` in `index.ts.key`; true when every cell is null.
fn key(row: &Row<'_>, cols: &[Col], readers: &[FieldReader], st: &mut State) -> bool {
    st.key.clear();
    let mut all_null = true;
    for (i, (&c, r)) in cols.iter().zip(readers).enumerate() {
        if i > 0 {
            st.key.push('\u{1F}');
        }
        if !r.push_key(row.cell(c), &mut st.scratch, &mut st.key) {
            all_null = false;
        }
    }
    all_null
}

fn shown(row: &Row<'_>, cols: &[Col]) -> String {
    cols.iter()
        .map(|&c| row.cell(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn unique(
    rule: &CRule,
    row: &Row<'_>,
    cols: &[Col],
    readers: &[FieldReader],
    primary: bool,
    table: usize,
    index: &mut Index,
    emit: &mut Emit<'_>,
    paths: &[String],
) {
    let names = || {
        cols.iter()
            .map(|&c| row.columns[c].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let col = (!primary && cols.len() == 1).then(|| cols[0]);
    if key(row, cols, readers, &mut index.ts) {
        if primary {
            emit.cell(Says::of(rule), row, None, "", || {
                format!("the primary key ({}) is missing in this row", names())
            });
        }
        return;
    }
    let t = &mut index.tables[table];
    let (id, new) = t.keys.intern(&index.ts.key);
    if new {
        t.locs.set(
            id,
            Loc {
                file: row.file,
                row: row.row,
            },
        );
        return;
    }
    let Some(first) = t.locs.get(id) else {
        return;
    };
    let value = shown(row, cols);
    let what = if primary { "primary key" } else { "unique key" };
    emit.cell(Says::of(rule), row, col, &value, || {
        format!(
            "{what} ({}) `{}` is repeated (first at row {} of {})",
            names(),
            truncate_value(&value),
            first.row,
            paths[first.file as usize]
        )
    });
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn foreign_key(
    kind: usize,
    rule: usize,
    row: &Row<'_>,
    cols: &[Col],
    readers: &[FieldReader],
    fk: usize,
    index: &mut Index,
) {
    let st = &mut index.ts;
    if key(row, cols, readers, st) {
        return;
    }
    if st.fk_keys[fk].find(&st.key).is_some_and(|(_, d)| d) {
        return;
    }
    st.pending.push(FkPending {
        fk: fk as u32,
        kind: kind as u16,
        rule: rule as u16,
        file: row.file,
        row: row.row,
        line: row.line,
        column_number: row.positions[cols[0]].map_or(0, |p| p as u32 + 1),
        key: st.key.as_str().into(),
        shown: shown(row, cols).into(),
    });
}

/// Records the keys this row defines for foreign keys that reference its kind.
pub(crate) fn feed(c: &Compiled, ck: &CKind, row: &Row<'_>, index: &mut Index) {
    for &f in &ck.fk_feeds {
        let spec = &c.fks[f];
        let st = &mut index.ts;
        if !key(row, &spec.cols, &spec.readers, st) {
            st.fk_keys[f].define(&st.key);
        }
    }
}

/// Reports the foreign keys still not found once every file is in.
pub(crate) fn resolve(c: &Compiled, index: &mut Index, sinks: &mut [&mut Sink], paths: &[String]) {
    for p in std::mem::take(&mut index.ts.pending) {
        if index.ts.fk_keys[p.fk as usize]
            .find(&p.key)
            .is_some_and(|(_, d)| d)
        {
            continue;
        }
        let ck = &c.kinds[usize::from(p.kind)];
        let rule = &ck.rules[usize::from(p.rule)];
        let super::C::ForeignKey { cols, .. } = &rule.check else {
            continue;
        };
        let spec = &c.fks[p.fk as usize];
        let sink = &mut *sinks[p.file as usize];
        if !sink.admit(rule.code, rule.severity, Some(p.row)) {
            continue;
        }
        let names: Vec<&str> = cols.iter().map(|&k| ck.display[k].as_str()).collect();
        let to = &c.target.kinds[spec.kind].name;
        let keys: Vec<&str> = spec
            .cols
            .iter()
            .map(|&k| c.kinds[spec.kind].display[k].as_str())
            .collect();
        let message = match &rule.message {
            Some(t) => super::render(t, names[0], &p.shown, None),
            None => format!(
                "({}) `{}` is not the ({}) of any {to} row",
                names.join(", "),
                truncate_value(&p.shown),
                keys.join(", ")
            ),
        };
        sink.push(Finding {
            code: rule.code.to_owned(),
            severity: rule.severity,
            file: Some(paths[p.file as usize].clone()),
            row: Some(p.row),
            line: Some(p.line),
            column: Some(names[0].to_owned()),
            column_number: (p.column_number > 0).then_some(p.column_number),
            value: Some(truncate_value(&p.shown)),
            message,
            platform_message: None,
        });
    }
}
