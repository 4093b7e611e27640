//! Targets from other schema languages: [Frictionless] Table Schema and Data Package JSON.
//!
//! [`table_schema`] accepts a Table Schema (`{"fields": [...]}`: one kind, `table`, which
//! any file is read as) or a Data Package (`{"resources": [...]}`: one kind per resource with
//! an inline `schema`, bound to its file by `path`, never by header detection). Tables are
//! read as frictionless-py (5.x) reads them: columns by position, the header compared with
//! the fields label by label, blank rows and extra or missing cells as errors.
//!
//! | Table Schema                                  | check                                   |
//! |-----------------------------------------------|-----------------------------------------|
//! | every field: type, format, constraints        | `field` (`row.type`, `row.required`, `row.too_short`, `row.too_long`, `row.range`, `row.pattern`, `row.enum`) |
//! | `constraints.unique`, `uniqueKeys`            | `typed_unique` (`dup.repeated_id`)      |
//! | `primaryKey`                                  | `typed_unique` primary (`dup.primary_key`) |
//! | `foreignKeys` (composite; resource `""` = itself) | `foreign_key` (`ref.missing`)       |
//! | `missingValues`, `dialect.header`, `dialect.delimiter` | the kind's `positional` layout |
//! | resource `path`                               | the kind's `path`                       |
//!
//! An unknown field type, a bad format or pattern, or a key naming no field is an error.
//! What is left out (a `quoteChar` other than `"`, schemas by reference, constraints
//! Frictionless ignores for a type) is listed in [`Imported::warnings`].
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
//! assert!(kind.positional.is_some());
//! assert!(imported.warnings.is_empty());
//! ```

use serde_json::{Map, Value};

use crate::Error;
use crate::schema::{Check, Detect, Kind, Positional, Rule, Target};
use crate::tableschema::{Field, FieldType};

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
    let mut tables: Vec<Table<'_>> = Vec::new();
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
                        Some(Value::String(p)) => Some(p.clone()),
                        Some(Value::Array(parts)) => {
                            warnings.push(format!(
                                "{rname}: a resource in {} parts: only its first part is bound to it",
                                parts.len()
                            ));
                            parts.first().and_then(Value::as_str).map(str::to_owned)
                        }
                        _ => None,
                    };
                    if let Some(e) = r
                        .get("encoding")
                        .and_then(Value::as_str)
                        .filter(|e| !e.eq_ignore_ascii_case("utf-8"))
                    {
                        warnings.push(format!(
                            "{rname}: encoding `{e}` is not supported; files are read as UTF-8"
                        ));
                    }
                    let dialect = r.get("dialect");
                    if let Some(q) = dialect
                        .and_then(|d| d.get("quoteChar"))
                        .and_then(Value::as_str)
                        .filter(|q| *q != "\"")
                    {
                        warnings.push(format!(
                            "{rname}: dialect quoteChar `{q}` is not supported; fields are read with `\"` quotes"
                        ));
                    }
                    tables.push(Table {
                        name: rname,
                        file,
                        schema,
                        dialect,
                    });
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
        tables.push(Table {
            name: "table".into(),
            file: None,
            schema,
            dialect: None,
        });
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
    target.header.case_insensitive = false;
    for t in &tables {
        let mut kind = table(&t.name, t.file.as_deref(), t.schema, &tables, &mut warnings)
            .map_err(|m| invalid(&target.name, m))?;
        if let (Some(p), Some(d)) = (kind.positional.as_mut(), t.dialect) {
            if let Some(h) = d.get("header").and_then(Value::as_bool) {
                p.header = h;
            }
            p.delimiter = d
                .get("delimiter")
                .and_then(Value::as_str)
                .and_then(|s| s.chars().next());
        }
        target.kinds.push(kind);
    }
    if target.kinds.is_empty() {
        return Err(invalid(
            &target.name,
            "no resource has an inline table schema",
        ));
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

fn table(
    name: &str,
    file: Option<&str>,
    schema: &Map<String, Value>,
    tables: &[Table<'_>],
    warnings: &mut Vec<String>,
) -> Result<Kind, String> {
    let list = schema
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{name}: the schema has no `fields` array"))?;
    let missing: Vec<String> = match schema.get("missingValues") {
        Some(Value::Array(a)) => a.iter().filter_map(text).collect(),
        _ => vec![String::new()],
    };
    let fields = fields_of(name, schema, &missing, warnings)?;
    let columns: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
    let field_of = |c: &str| fields.iter().find(|(n, _)| n == c).map(|(_, f)| f.clone());
    let mut rules = Vec::new();
    for (col, f) in &fields {
        let plain = f.ty == FieldType::Any
            || (f.ty == FieldType::String && matches!(f.format.as_str(), "default" | "wkt"));
        let c = &f.constraints;
        let constrained = c.required
            || c.min_length.is_some()
            || c.max_length.is_some()
            || c.pattern.is_some()
            || c.one_of.is_some();
        if !plain || constrained {
            rules.push(Rule::new(Check::Field {
                column: col.clone(),
                field: Box::new(f.clone()),
            }));
        }
    }
    // `unique` constraints, from the raw descriptors (not part of `Field`).
    for fd in list {
        let unique = fd
            .get("constraints")
            .and_then(|c| c.get("unique"))
            .and_then(Value::as_bool)
            == Some(true);
        if let (true, Some(col)) = (unique, fd.get("name").and_then(Value::as_str)) {
            rules.push(Rule::new(Check::TypedUnique {
                columns: vec![col.to_owned()],
                fields: field_of(col).into_iter().collect(),
                primary: false,
            }));
        }
    }
    let keyed = |cols: &[String], what: &str| -> Result<Vec<Field>, String> {
        cols.iter()
            .map(|c| {
                field_of(c).ok_or_else(|| format!("{name}: {what} field `{c}` is not a field"))
            })
            .collect()
    };
    let pk = names(schema.get("primaryKey"));
    // `diff` pairs rows by the primary key (compared as text, not as typed values).
    let identity = pk.clone();
    if !pk.is_empty() {
        rules.push(Rule::new(Check::TypedUnique {
            fields: keyed(&pk, "primaryKey")?,
            columns: pk,
            primary: true,
        }));
    }
    for uk in schema
        .get("uniqueKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let cols = names(Some(uk));
        warnings.push(format!(
            "{name}: uniqueKeys ({}) is checked, though frictionless-py 5 ignores it",
            cols.join(", ")
        ));
        rules.push(Rule::new(Check::TypedUnique {
            fields: keyed(&cols, "uniqueKeys")?,
            columns: cols,
            primary: false,
        }));
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
        if from.is_empty() || from.len() != to.len() {
            return Err(format!(
                "{name}: foreign key ({}) → {other} ({}) needs as many fields on both sides",
                from.join(", "),
                to.join(", ")
            ));
        }
        let fields = keyed(&from, "foreign key")?;
        let key_fields = if other == name {
            keyed(&to, "foreign key reference")?
        } else {
            let Some(t) = tables.iter().find(|t| t.name == other) else {
                warnings.push(format!(
                    "{name}: foreign key ({}) refers to resource `{other}`, which has no inline schema here; not checked",
                    from.join(", ")
                ));
                continue;
            };
            let theirs = fields_of(other, t.schema, &t.missing(), &mut Vec::new())?;
            to.iter()
                .map(|c| {
                    theirs
                        .iter()
                        .find(|(n, _)| n == c)
                        .map(|(_, f)| f.clone())
                        .ok_or_else(|| {
                            format!("{name}: foreign key refers to `{c}`, which is not a field of {other}")
                        })
                })
                .collect::<Result<_, _>>()?
        };
        rules.push(Rule::new(Check::ForeignKey {
            columns: from,
            fields,
            kind: other.to_owned(),
            keys: to,
            key_fields,
        }));
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut kind = Kind::new(name, &names);
    if let Some(file) = file {
        kind.file_name = base_name(file);
        kind.path = Some(file.to_owned());
        // Only a file at no declared path falls back to its header.
        kind.detect = Detect::all(&names);
    } else {
        // A bare Table Schema: whatever file it is given.
        kind.path = Some("*".into());
    }
    kind.case_sensitive_header = true;
    kind.rules = rules;
    kind.identity = identity;
    kind.positional = Some(Positional {
        header: true,
        delimiter: None,
        missing_values: missing,
    });
    Ok(kind)
}

/// A resource with an inline schema.
struct Table<'a> {
    name: String,
    file: Option<String>,
    schema: &'a Map<String, Value>,
    dialect: Option<&'a Value>,
}

impl Table<'_> {
    fn missing(&self) -> Vec<String> {
        match self.schema.get("missingValues") {
            Some(Value::Array(a)) => a.iter().filter_map(text).collect(),
            _ => vec![String::new()],
        }
    }
}

/// The fields of a schema, in order.
fn fields_of(
    table: &str,
    schema: &Map<String, Value>,
    missing: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<(String, Field)>, String> {
    let list = schema
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{table}: the schema has no `fields` array"))?;
    let mut out: Vec<(String, Field)> = Vec::new();
    for f in list {
        let col = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{table}: a field has no name"))?
            .to_owned();
        if out.iter().any(|(n, _)| *n == col) {
            return Err(format!("{table}: field `{col}` is defined twice"));
        }
        let field = field(table, &col, f, missing, warnings)?;
        out.push((col, field));
    }
    if out.is_empty() {
        return Err(format!("{table}: the schema has no fields"));
    }
    Ok(out)
}

/// One field descriptor as a [`Field`].
fn field(
    table: &str,
    col: &str,
    f: &Value,
    missing: &[String],
    warnings: &mut Vec<String>,
) -> Result<Field, String> {
    let ty_name = f.get("type").and_then(Value::as_str).unwrap_or("string");
    let ty = FieldType::from_name(ty_name).ok_or_else(|| {
        format!("{table}: field `{col}`: type `{ty_name}` is not a Table Schema type")
    })?;
    let mut out = Field {
        ty,
        format: f
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_owned(),
        missing_values: missing.to_vec(),
        ..Field::default()
    };
    let str_of = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(d) = str_of("decimalChar") {
        out.decimal_char = d;
        out.number_options = true;
    }
    if let Some(g) = str_of("groupChar") {
        out.group_char = g;
        out.number_options = true;
    }
    if let Some(b) = f.get("bareNumber").and_then(Value::as_bool) {
        out.bare_number = b;
        out.number_options = true;
    }
    let list = |k: &str| -> Option<Vec<String>> {
        f.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(text).collect())
    };
    if let Some(t) = list("trueValues") {
        out.true_values = t;
    }
    if let Some(t) = list("falseValues") {
        out.false_values = t;
    }
    if let Some(c) = f.get("constraints").and_then(Value::as_object) {
        let mut keys: Vec<&String> = c.keys().collect();
        keys.sort();
        for key in keys {
            if key != "unique" && !ty.supports(key) {
                warnings.push(format!(
                    "{table}: field `{col}`: constraint `{key}` does not apply to type `{ty_name}` (Frictionless ignores it)"
                ));
                continue;
            }
            let v = &c[key.as_str()];
            let cs = &mut out.constraints;
            match key.as_str() {
                "required" => cs.required = v.as_bool() == Some(true),
                "unique" => {}
                "minLength" => cs.min_length = v.as_u64(),
                "maxLength" => cs.max_length = v.as_u64(),
                "minimum" => cs.minimum = text(v),
                "maximum" => cs.maximum = text(v),
                "exclusiveMinimum" => cs.exclusive_minimum = text(v),
                "exclusiveMaximum" => cs.exclusive_maximum = text(v),
                "pattern" => cs.pattern = text(v),
                "enum" => cs.one_of = v.as_array().map(|a| a.iter().filter_map(text).collect()),
                _ => {}
            }
        }
    }
    // Fail now on a format, bound or pattern that cannot be used.
    crate::tableschema::FieldReader::new(&out)
        .map_err(|e| format!("{table}: field `{col}`: {e}"))?;
    Ok(out)
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
            {"name": "level", "type": "integer", "constraints": {"minimum": 2}}],
          "primaryKey": ["class_id"]}},
        {"name": "pupils", "path": "data/pupils.csv",
         "schema": {"fields": [
            {"name": "pupil_id", "type": "integer"},
            {"name": "class_id"},
            {"name": "buddy", "type": "integer"},
            {"name": "active", "type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]},
            {"name": "born", "type": "date"},
            {"name": "mail", "constraints": {"maxLength": 40, "enum": ["a@b.c", 1]}},
            {"name": "a"}, {"name": "b", "type": "integer"}],
          "primaryKey": "pupil_id",
          "foreignKeys": [
            {"fields": "class_id", "reference": {"resource": "classes", "fields": "class_id"}},
            {"fields": ["buddy"], "reference": {"resource": "", "fields": ["pupil_id"]}},
            {"fields": ["a", "b"], "reference": {"resource": "classes", "fields": ["class_id", "level"]}}]}},
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
        assert_eq!(pupils.path.as_deref(), Some("data/pupils.csv"));
        assert!(pupils.positional.is_some());
        let codes: Vec<&str> = pupils.rules.iter().map(|r| r.check.code()).collect();
        assert_eq!(
            codes,
            [
                "row.type",
                "row.type",
                "row.type",
                "row.type",
                "row.type",
                "row.type",
                "dup.primary_key",
                "ref.missing",
                "ref.missing",
                "ref.missing",
            ]
        );
        assert!(matches!(&pupils.rules[8].check,
            Check::ForeignKey { kind, keys, .. } if kind == "pupils" && keys == &["pupil_id"]));
        assert!(matches!(&pupils.rules[9].check,
            Check::ForeignKey { columns, .. } if columns.len() == 2));
        assert_eq!(
            warnings,
            ["notes: no table schema; the resource is not checked"]
        );
    }

    #[test]
    fn errors() {
        assert!(table_schema("[]").is_err());
        assert!(table_schema("{").is_err());
        assert!(table_schema(r#"{"fields": [{"name": "a"}], "primaryKey": "b"}"#).is_err());
        assert!(table_schema(r#"{"fields": [{"name": "a", "type": "decimal"}]}"#).is_err());
        assert!(
            table_schema(r#"{"fields": [{"name": "a", "constraints": {"pattern": "("}}]}"#)
                .is_err()
        );
        assert!(is_table_schema(PACKAGE));
    }

    #[test]
    fn checks_rows() {
        let t = table_schema(PACKAGE).unwrap().target;
        let report = crate::validate_files(
            &t,
            &[
                ("data/classes.csv", b"class_id,level\nC1,1\nC1,2\n,3\n"),
                (
                    "data/pupils.csv",
                    b"pupil_id,class_id,buddy,active,born,mail,a,b\n1,C1,2,Y,2020-01-02,a@b.c,C1,1\n2,C9,7,yes,2020-13-01,x,C1,5\n",
                ),
            ],
        );
        let codes: Vec<(&str, Option<u64>)> = report
            .files
            .iter()
            .flat_map(|f| f.findings.iter().map(|x| (x.code.as_str(), x.row)))
            .collect();
        for want in [
            ("dup.primary_key", Some(3)),
            ("dup.repeated_id", Some(3)),
            ("row.required", Some(4)),
            ("ref.missing", Some(3)),
            ("row.type", Some(3)),
            ("row.enum", Some(3)),
            ("row.range", Some(2)),
        ] {
            assert!(codes.contains(&want), "{want:?} not in {codes:?}");
        }
    }
}
