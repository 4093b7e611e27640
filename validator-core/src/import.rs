//! Targets from other schema languages: [Frictionless] Table Schema and Data Package JSON.
//!
//! [`table_schema`] accepts a Table Schema (`{"fields": [...]}`: one kind, `table`) or a
//! Data Package (`{"resources": [...]}`: one kind per resource with an inline `schema`,
//! named after the resource, whose `path` gives the kind's file name). Every field is a
//! column, all of them required in the header, in the schema's order, with their exact
//! case. What maps onto the validator's checks:
//!
//! | Table Schema                       | check                                         |
//! |------------------------------------|-----------------------------------------------|
//! | `type: integer` (and `year`)       | `integer`                                     |
//! | `type: boolean`                    | `enum` of `trueValues` + `falseValues`, exact |
//! | `type: date`, `datetime`           | `date`                                        |
//! | `type: string, format: email`      | `email`                                       |
//! | `constraints.required`             | `required`                                    |
//! | `constraints.unique`               | `unique` (error)                              |
//! | `constraints.enum`                 | `enum`, exact                                 |
//! | `constraints.maxLength`            | `max_length`                                  |
//! | `primaryKey`                       | `unique` (error) over its fields, `required`  |
//! | `foreignKeys` (one field)          | `reference` (error); resource `""` = itself   |
//!
//! Everything else (other types, `pattern`, `minimum`, `maximum`, `minLength`, composite
//! foreign keys, non-default `missingValues`, ...) is not checked and listed in
//! [`Imported::warnings`], so the user knows what the import left out.
//!
//! [Frictionless]: https://specs.frictionlessdata.io/
//!
//! ```
//! let imported = validator_core::import::table_schema(r#"{
//!   "fields": [
//!     {"name": "id", "type": "integer", "constraints": {"required": true}},
//!     {"name": "score", "type": "number"}
//!   ],
//!   "primaryKey": "id"
//! }"#).unwrap();
//! let kind = &imported.target.kinds[0];
//! assert_eq!(kind.columns, ["id", "score"]);
//! assert!(kind.ordered_columns);
//! assert_eq!(imported.warnings, ["table: field `score`: type `number` is not checked"]);
//! ```

use serde_json::{Map, Value, json};

use crate::Error;
use crate::report::Severity;
use crate::schema::{Check, Detect, Kind, Rule, Target};

/// A target imported from another schema language, with what the import could not map.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// The target.
    pub target: Target,
    /// Parts of the schema that are not checked, one sentence each.
    pub warnings: Vec<String>,
}

/// Whether JSON text looks like a Table Schema or a Data Package rather than a target file:
/// an object with `fields` or `resources` and no `kinds`.
///
/// ```
/// use validator_core::import::is_table_schema;
/// assert!(is_table_schema(r#"{"fields": []}"#));
/// assert!(!is_table_schema(r#"{"name": "x", "kinds": []}"#));
/// ```
pub fn is_table_schema(json: &str) -> bool {
    serde_json::from_str::<Value>(json).is_ok_and(|v| {
        v.get("kinds").is_none() && (v.get("fields").is_some() || v.get("resources").is_some())
    })
}

const TRUE_VALUES: &[&str] = &["true", "True", "TRUE", "1"];
const FALSE_VALUES: &[&str] = &["false", "False", "FALSE", "0"];

fn invalid(target: &str, msg: impl Into<String>) -> Error {
    Error::InvalidTarget {
        target: target.to_owned(),
        msg: msg.into(),
    }
}

/// A Table Schema or Data Package (JSON text) as a target.
///
/// Fails on text that is not JSON, has neither `fields` nor `resources`, or yields no kind;
/// parts that cannot be checked are warnings, not errors.
pub fn table_schema(json: &str) -> Result<Imported, Error> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| invalid("table-schema", format!("not JSON: {e}")))?;
    let mut warnings = Vec::new();
    let mut target;
    // (kind name, file name, schema) per table.
    let mut tables: Vec<(String, String, &Map<String, Value>)> = Vec::new();
    if let Some(resources) = v.get("resources") {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("datapackage");
        target = Target::new(name);
        if let Some(title) = v.get("title").and_then(Value::as_str) {
            target.title = title.to_owned();
        }
        let resources = resources
            .as_array()
            .ok_or_else(|| invalid(name, "`resources` is not an array"))?;
        for (i, r) in resources.iter().enumerate() {
            let rname = r
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("resource{}", i + 1), str::to_owned);
            match r.get("schema") {
                Some(Value::Object(schema)) => {
                    let file = match r.get("path") {
                        Some(Value::String(p)) => base_name(p),
                        Some(Value::Array(parts)) => {
                            warnings.push(format!(
                                "{rname}: a resource in {} parts is checked file by file; each part is recognised by its header",
                                parts.len()
                            ));
                            parts
                                .first()
                                .and_then(Value::as_str)
                                .map_or_else(|| format!("{rname}.csv"), base_name)
                        }
                        _ => format!("{rname}.csv"),
                    };
                    if let Some(d) = r
                        .get("dialect")
                        .and_then(|d| d.get("delimiter"))
                        .and_then(Value::as_str)
                        .filter(|d| *d != ",")
                    {
                        warnings.push(format!(
                            "{rname}: dialect delimiter `{d}` is not enforced (any delimiter is read)"
                        ));
                    }
                    if let Some(e) = r
                        .get("encoding")
                        .and_then(Value::as_str)
                        .filter(|e| !e.eq_ignore_ascii_case("utf-8"))
                    {
                        warnings.push(format!(
                            "{rname}: encoding `{e}` is not supported; files are read as UTF-8"
                        ));
                    }
                    tables.push((rname, file, schema));
                }
                Some(Value::String(s)) => warnings.push(format!(
                    "{rname}: schema `{s}` is a reference, not inline; the resource is not checked (inline it)"
                )),
                _ => warnings.push(format!(
                    "{rname}: no table schema; the resource is not checked"
                )),
            }
        }
    } else if let Some(schema) = v.as_object().filter(|o| o.contains_key("fields")) {
        target = Target::new("table-schema");
        tables.push(("table".into(), "table.csv".into(), schema));
    } else {
        return Err(invalid(
            "table-schema",
            "neither a Table Schema (`fields`) nor a Data Package (`resources`)",
        ));
    }
    target.description = "Imported from a Frictionless Table Schema / Data Package".into();
    // Frictionless reads cells and labels as they are.
    target.trim_values = false;
    target.header.trim_for_reading = false;
    let kinds: Vec<String> = tables.iter().map(|t| t.0.clone()).collect();
    for (name, file, schema) in &tables {
        let kind = table(name, file, schema, &kinds, &tables, &mut warnings)
            .map_err(|m| invalid(&target.name, m))?;
        target.kinds.push(kind);
    }
    if target.kinds.is_empty() {
        return Err(invalid(
            &target.name,
            "no resource has an inline table schema",
        ));
    }
    // Two columns of a kind that differ only by case must be told apart by detection.
    if target.kinds.iter().any(|k| {
        let folded: Vec<String> = k.columns.iter().map(|c| c.to_lowercase()).collect();
        (1..folded.len()).any(|i| folded[..i].contains(&folded[i]))
    }) {
        target.header.case_insensitive = false;
    }
    crate::Session::new(target.clone())?;
    Ok(Imported { target, warnings })
}

fn base_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned()
}

/// A string or an array of strings (`primaryKey`, `foreignKeys[].fields`).
fn names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A scalar as the CSV text it stands for (`enum` values may be numbers or booleans).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A check built from its serialised form (so that check fields added to the schema with
/// defaults need no change here).
fn check(v: Value) -> Result<Check, String> {
    serde_json::from_value(v).map_err(|e| format!("internal: {e}"))
}

fn rule(v: Value) -> Result<Rule, String> {
    check(v).map(Rule::new)
}

fn table(
    name: &str,
    file: &str,
    schema: &Map<String, Value>,
    kinds: &[String],
    tables: &[(String, String, &Map<String, Value>)],
    warnings: &mut Vec<String>,
) -> Result<Kind, String> {
    let fields = schema
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{name}: the schema has no `fields` array"))?;
    let mut columns = Vec::new();
    let mut rules = Vec::new();
    for f in fields {
        let col = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{name}: a field has no name"))?
            .to_owned();
        if columns.contains(&col) {
            return Err(format!("{name}: field `{col}` is defined twice"));
        }
        field(name, &col, f, &mut rules, warnings)?;
        columns.push(col);
    }
    if columns.is_empty() {
        return Err(format!("{name}: the schema has no fields"));
    }
    if let Some(mv) = schema.get("missingValues").and_then(Value::as_array)
        && mv.iter().any(|m| m.as_str() != Some(""))
    {
        warnings.push(format!(
            "{name}: missingValues other than \"\" are not supported; they are read as values"
        ));
    }
    let pk = names(schema.get("primaryKey"));
    if !pk.is_empty() {
        if let Some(bad) = pk.iter().find(|c| !columns.contains(c)) {
            return Err(format!("{name}: primaryKey field `{bad}` is not a field"));
        }
        for c in &pk {
            let required = Check::Required { column: c.clone() };
            if !rules.iter().any(|r: &Rule| r.check == required) {
                rules.push(Rule::new(required).message(&format!(
                    "`{c}` is part of the primary key and must have a value"
                )));
            }
        }
        let unique = check(json!({"check": "unique", "columns": pk}))?;
        // A unique field that is the whole primary key is checked once.
        rules.retain(|r| r.check != unique);
        rules.push(
            Rule::new(unique)
                .severity(Severity::Error)
                .message(&format!(
                    "primary key ({}) `{{value}}` is repeated",
                    pk.join(", ")
                )),
        );
    }
    for fk in schema
        .get("foreignKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let from = names(fk.get("fields"));
        let reference = fk.get("reference");
        let to = names(reference.and_then(|r| r.get("fields")));
        let resource = reference
            .and_then(|r| r.get("resource"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let other = if resource.is_empty() { name } else { resource };
        if from.len() != 1 || to.len() != 1 {
            warnings.push(format!(
                "{name}: foreign key ({}) → {other} ({}) has several fields and is not checked",
                from.join(", "),
                to.join(", ")
            ));
            continue;
        }
        if !kinds.iter().any(|k| k == other) {
            warnings.push(format!(
                "{name}: foreign key `{}` refers to resource `{other}`, which has no inline schema here; not checked",
                from[0]
            ));
            continue;
        }
        if !columns.contains(&from[0]) {
            return Err(format!(
                "{name}: foreign key field `{}` is not a field",
                from[0]
            ));
        }
        let key_exists = if other == name {
            columns.contains(&to[0])
        } else {
            tables.iter().any(|(n, _, s)| {
                n == other
                    && s.get("fields").and_then(Value::as_array).is_some_and(|fs| {
                        fs.iter()
                            .any(|f| f.get("name").and_then(Value::as_str) == Some(&to[0]))
                    })
            })
        };
        if !key_exists {
            return Err(format!(
                "{name}: foreign key refers to `{}`, which is not a field of {other}",
                to[0]
            ));
        }
        rules.push(
            rule(json!({"check": "reference", "column": from[0], "kind": other, "key": to[0]}))?
                .severity(Severity::Error)
                .message(&format!(
                    "`{{value}}` is not the {} of any {other} row",
                    to[0]
                )),
        );
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut kind = Kind::new(name, &names);
    kind.file_name = file.to_owned();
    kind.detect = Detect::all(&names);
    kind.required_columns = columns.clone();
    kind.ordered_columns = true;
    kind.case_sensitive_header = true;
    kind.unknown_columns = Severity::Error;
    kind.rules = rules;
    Ok(kind)
}

/// The checks of one field.
fn field(
    table: &str,
    col: &str,
    f: &Value,
    rules: &mut Vec<Rule>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let mut warn = |what: String| warnings.push(format!("{table}: field `{col}`: {what}"));
    let ty = f.get("type").and_then(Value::as_str).unwrap_or("string");
    let format = f.get("format").and_then(Value::as_str).unwrap_or("default");
    let c = col;
    match ty {
        "string" => match format {
            "default" => {}
            "email" => rules.push(rule(json!({"check": "email", "column": c}))?),
            other => warn(format!("string format `{other}` is not checked")),
        },
        "integer" | "year" => rules.push(rule(json!({"check": "integer", "column": c}))?),
        "boolean" => {
            let list = |key: &str, default: &[&str]| -> Vec<String> {
                match f.get(key).and_then(Value::as_array) {
                    Some(a) => a.iter().filter_map(text).collect(),
                    None => default.iter().map(|s| (*s).to_owned()).collect(),
                }
            };
            let mut values = list("trueValues", TRUE_VALUES);
            values.extend(list("falseValues", FALSE_VALUES));
            rules.push(
                rule(json!({"check": "enum", "column": c, "values": values, "matching": "exact"}))?
                    .message(&format!(
                        "`{{value}}` is not a boolean; use one of {}",
                        values.join(", ")
                    )),
            );
        }
        "date" | "datetime" => {
            if !matches!(format, "default" | "any") {
                warn(format!(
                    "{ty} format `{format}` is not checked; dates are checked as ISO 8601"
                ));
            }
            rules.push(rule(json!({"check": "date", "column": c}))?);
        }
        "any" => {}
        other => warn(format!("type `{other}` is not checked")),
    }
    let Some(constraints) = f.get("constraints").and_then(Value::as_object) else {
        return Ok(());
    };
    // A fixed order, whatever the map's (serde_json may or may not keep the file's order).
    const KNOWN: [&str; 4] = ["required", "unique", "enum", "maxLength"];
    let mut keys: Vec<&String> = constraints.keys().collect();
    keys.sort_by_key(|k| (KNOWN.iter().position(|x| x == k).unwrap_or(KNOWN.len()), *k));
    for key in keys {
        let v = &constraints[key];
        match key.as_str() {
            "required" => {
                if v.as_bool() == Some(true) {
                    rules.push(rule(json!({"check": "required", "column": c}))?);
                }
            }
            "unique" => {
                if v.as_bool() == Some(true) {
                    rules.push(
                        rule(json!({"check": "unique", "columns": [c]}))?
                            .severity(Severity::Error)
                            .message(&format!("`{{value}}` is repeated; `{c}` must be unique")),
                    );
                }
            }
            "enum" => {
                let values: Vec<String> = v
                    .as_array()
                    .map(|a| a.iter().filter_map(text).collect())
                    .unwrap_or_default();
                rules.push(rule(
                    json!({"check": "enum", "column": c, "values": values, "matching": "exact"}),
                )?);
            }
            "maxLength" => match v.as_u64() {
                Some(max) => rules.push(rule(
                    json!({"check": "max_length", "column": c, "max": max}),
                )?),
                None => warn(format!("maxLength `{v}` is not a number")),
            },
            other => warn(format!("constraint `{other}` is not checked")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGE: &str = r#"{
      "name": "school",
      "resources": [
        {"name": "classes", "path": "data/classes.csv",
         "schema": {"fields": [
            {"name": "class_id", "type": "string", "constraints": {"required": true, "unique": true}},
            {"name": "level", "type": "integer", "constraints": {"minimum": 1}}],
          "primaryKey": ["class_id"]}},
        {"name": "pupils", "path": "data/pupils.csv",
         "schema": {"fields": [
            {"name": "pupil_id", "type": "integer"},
            {"name": "class_id"},
            {"name": "buddy", "type": "integer"},
            {"name": "active", "type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]},
            {"name": "born", "type": "date"},
            {"name": "mail", "format": "email", "constraints": {"maxLength": 40, "enum": ["a@b.c", 1]}}],
          "primaryKey": "pupil_id",
          "foreignKeys": [
            {"fields": "class_id", "reference": {"resource": "classes", "fields": "class_id"}},
            {"fields": ["buddy"], "reference": {"resource": "", "fields": ["pupil_id"]}},
            {"fields": ["a", "b"], "reference": {"resource": "classes", "fields": ["x", "y"]}}]}},
        {"name": "notes", "path": "notes.txt"}
      ]
    }"#;

    #[test]
    fn data_package() {
        let Imported { target, warnings } = table_schema(PACKAGE).unwrap();
        assert_eq!(target.name, "school");
        let names: Vec<&str> = target.kinds.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["classes", "pupils"]);
        let pupils = target.kind("pupils").unwrap();
        assert_eq!(pupils.file_name, "pupils.csv");
        assert_eq!(pupils.required_columns, pupils.columns);
        assert!(pupils.ordered_columns && pupils.case_sensitive_header);
        let codes: Vec<&str> = pupils.rules.iter().map(|r| r.check.code()).collect();
        assert_eq!(
            codes,
            [
                "row.integer",
                "row.integer",
                "row.enum",
                "row.date",
                "row.email",
                "row.enum",
                "row.too_long",
                "row.required",
                "dup.repeated_id",
                "ref.missing",
                "ref.missing",
            ]
        );
        let self_ref = pupils.rules.last().unwrap();
        assert!(
            matches!(&self_ref.check, Check::Reference { kind, key, .. } if kind == "pupils" && key == "pupil_id")
        );
        assert_eq!(self_ref.severity, Some(Severity::Error));
        assert!(
            matches!(&pupils.rules[2].check, Check::Enum { values, .. } if values == &["Y", "N"])
        );
        assert!(
            matches!(&pupils.rules[5].check, Check::Enum { values, .. } if values == &["a@b.c", "1"])
        );
        assert_eq!(
            warnings,
            [
                "notes: no table schema; the resource is not checked",
                "classes: field `level`: constraint `minimum` is not checked",
                "pupils: foreign key (a, b) → classes (x, y) has several fields and is not checked",
            ]
        );
    }

    #[test]
    fn boolean_defaults_and_errors() {
        let t = table_schema(r#"{"fields": [{"name": "ok", "type": "boolean"}]}"#)
            .unwrap()
            .target;
        assert!(matches!(&t.kinds[0].rules[0].check,
            Check::Enum { values, .. } if values.len() == 8 && values[0] == "true" && values[7] == "0"));
        assert!(table_schema("[]").is_err());
        assert!(table_schema("{").is_err());
        assert!(table_schema(r#"{"fields": [{"name": "a"}], "primaryKey": "b"}"#).is_err());
        assert!(is_table_schema(PACKAGE));
    }

    #[test]
    fn checks_rows() {
        let t = table_schema(PACKAGE).unwrap().target;
        let report = crate::validate_files(
            &t,
            &[
                ("classes.csv", b"class_id,level\nC1,1\nC1,2\n,3\n"),
                (
                    "pupils.csv",
                    b"pupil_id,class_id,buddy,active,born,mail\n1,C1,2,Y,2020-01-02,a@b.c\n2,C9,7,yes,2020-13-01,x\n",
                ),
            ],
        );
        let codes: Vec<(&str, Option<u64>)> = report
            .files
            .iter()
            .flat_map(|f| f.findings.iter().map(|x| (x.code.as_str(), x.row)))
            .collect();
        for want in [
            ("dup.repeated_id", Some(3)),
            ("row.required", Some(4)),
            ("ref.missing", Some(3)),
            ("row.enum", Some(3)),
            ("row.date", Some(3)),
            ("row.email", Some(3)),
        ] {
            assert!(codes.contains(&want), "{want:?} not in {codes:?}");
        }
    }
}
