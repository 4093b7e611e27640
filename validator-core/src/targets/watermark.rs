//! Watermark System Administration bulk import (a ZIP of CSVs, POST /v1/import/data).
//!
//! What is public (formats.md §2 and the seed) is encoded here: the twelve kinds in the
//! API's processing order, files recognised by header only ("any and only expected
//! fields", every template column present even if blank), at most one file per kind,
//! UTF-8, the unique id column of each kind, the full headers and values of `roles.csv`
//! and `programcurriculum.csv`, and people referenced by e-mail. The other headers are not
//! public and are not invented: [`from_templates`] builds a target from the
//! institution's official template CSVs.

use super::rule::*;
use crate::schema::{Check, Detect, Kind, Matching, Rule, Target};

/// Kinds in the API's processing order, with their canonical file names.
pub const KINDS: [(&str, &str); 12] = [
    ("organizations", "organizations.csv"),
    ("programs", "programs.csv"),
    ("terms", "terms.csv"),
    ("courses", "courses.csv"),
    ("course_sections", "sections.csv"),
    ("people", "people.csv"),
    ("roles", "roles.csv"),
    ("enrollments", "enrollments.csv"),
    ("cohort_enrollments", "cohortenrollments.csv"),
    ("person_basic_attributes", "basicpersonattributes.csv"),
    ("student_term_attributes", "studenttermattributes.csv"),
    ("program_curriculum", "programcurriculum.csv"),
];

const HINT: &str = "Watermark's headers for organizations, programs, terms, courses, course_sections, people, enrollments, cohort_enrollments, person_basic_attributes and student_term_attributes are not public: run `preflight target from-templates --target watermark <your template ZIP> -o watermark.toml` and check with `--target-file watermark.toml`";

/// The Watermark target with the public facts only: `roles` and `program_curriculum` are
/// recognised; the other kinds need the institution's templates ([`from_templates`]).
///
/// ```
/// let t = validator_core::targets::watermark();
/// assert_eq!(t.kinds.len(), 12);
/// assert_eq!(t.kinds[6].columns, ["person_id", "product", "roles"]);
/// ```
pub fn watermark() -> Target {
    let mut t = Target::new("watermark");
    t.title = "Watermark".into();
    t.description =
        "Watermark System Administration: a ZIP of CSVs recognised by header (needs the institution's templates for most kinds)".into();
    t.delimiter = Some(',');
    t.one_file_per_kind = true;
    t.unknown_kind_hint = HINT.into();
    t.kinds = KINDS
        .iter()
        .map(|(name, file)| Kind {
            file_name: (*file).to_owned(),
            ..Kind::new(name, &[])
        })
        .collect();
    set_columns(&mut t.kinds[6], &["person_id", "product", "roles"]);
    set_columns(
        &mut t.kinds[11],
        &[
            "program_code",
            "course_code",
            "aligned_course",
            "required_course",
        ],
    );
    for k in &mut t.kinds {
        k.rules = known_rules(&k.name, &k.columns);
    }
    prune_references(&mut t);
    set_identity(&mut t);
    t
}

/// How Watermark identifies a row ("Updating Unique Identifier Data", formats.md §2):
/// the unique identifier column of each kind; roles are one row per person and product,
/// both compared case-insensitively. Kinds with no identifier are compared whole-row.
#[rustfmt::skip]
const IDENTITY: &[(&str, &[&str], &[&str])] = &[
    ("organizations", &["organization_code"], &[]),
    ("programs", &["program_code"], &[]),
    ("terms", &["term_id"], &[]),
    ("courses", &["course_catalog_code"], &[]),
    ("course_sections", &["section_id"], &[]),
    ("people", &["person_id"], &[]),
    ("roles", &["person_id", "product"], &["person_id", "product"]),
];

/// Sets each kind's row identity, where its template has the identifying columns.
fn set_identity(t: &mut Target) {
    for (name, identity, folded) in IDENTITY {
        if let Some(k) = t.kinds.iter_mut().find(|k| k.name == *name)
            && identity.iter().all(|c| k.columns.iter().any(|k| k == c))
        {
            k.identity = identity.iter().map(|c| (*c).to_owned()).collect();
            k.case_insensitive = folded.iter().map(|c| (*c).to_owned()).collect();
        }
    }
}

/// Drops references to kinds whose key column is unknown (no template for them).
fn prune_references(t: &mut Target) {
    let keys: Vec<(String, Vec<String>)> = t
        .kinds
        .iter()
        .map(|k| (k.name.clone(), k.columns.clone()))
        .collect();
    for k in &mut t.kinds {
        k.rules.retain(|r| match &r.check {
            Check::Reference { kind, key, .. } => keys
                .iter()
                .any(|(n, cols)| n == kind && cols.iter().any(|c| c.eq_ignore_ascii_case(key))),
            _ => true,
        });
    }
}

/// Makes `columns` the kind's exact header: recognised when the header has these columns
/// and no other, in any order, all present.
fn set_columns(k: &mut Kind, columns: &[&str]) {
    k.columns = columns.iter().map(|c| (*c).to_owned()).collect();
    k.detect = Detect {
        only: true,
        ..Detect::all(columns)
    };
    k.required_columns = k.columns.clone();
    k.unknown_columns = crate::Severity::Error;
}

/// Builds a Watermark target from template headers: `(kind, header)` pairs, kinds named as
/// in [`KINDS`]. Kinds without a template keep what is public.
///
/// ```
/// let t = validator_core::targets::watermark::from_templates(&[
///     ("people", vec!["person_id".into(), "first_name".into(), "email".into()]),
/// ]);
/// assert!(t.kind("people").unwrap().detect.only);
/// ```
pub fn from_templates(templates: &[(&str, Vec<String>)]) -> Target {
    let mut t = watermark();
    for (kind, header) in templates {
        if let Some(k) = t.kinds.iter_mut().find(|k| k.name == *kind) {
            let cols: Vec<&str> = header
                .iter()
                .map(|h| h.trim())
                .filter(|h| !h.is_empty())
                .collect();
            set_columns(k, &cols);
            k.rules = known_rules(&k.name, &k.columns);
        }
    }
    for k in &mut t.kinds {
        k.rules = known_rules(&k.name, &k.columns);
    }
    prune_references(&mut t);
    set_identity(&mut t);
    let missing: Vec<&str> = t
        .kinds
        .iter()
        .filter(|k| k.columns.is_empty())
        .map(|k| k.name.as_str())
        .collect();
    t.unknown_kind_hint = if missing.is_empty() {
        String::new()
    } else {
        format!(
            "This target has no template for {}: add them to `preflight target from-templates` to check those files",
            missing.join(", ")
        )
    };
    t
}

/// The rules that follow from public facts, for the columns a template actually has.
fn known_rules(kind: &str, columns: &[String]) -> Vec<Rule> {
    let has = |c: &str| columns.iter().any(|x| x.eq_ignore_ascii_case(c));
    let mut rules = Vec::new();
    // Unique identifier per file ("Updating Unique Identifier Data").
    let id = match kind {
        "organizations" => Some("organization_code"),
        "programs" => Some("program_code"),
        "people" => Some("person_id"),
        "terms" => Some("term_id"),
        "courses" => Some("course_catalog_code"),
        "course_sections" => Some("section_id"),
        _ => None,
    };
    if let Some(id) = id.filter(|c| has(c)) {
        rules.push(required(id, ""));
        // Duplicate ids in an institution are validation errors.
        rules.push(
            Rule::new(Check::Unique {
                columns: vec![id.into()],
                owner: None,
                ignore_case: true,
            })
            .severity(crate::Severity::Error)
            .message(&format!(
                "{id} `{{value}}` is repeated; Watermark rejects duplicate ids"
            )),
        );
    }
    if kind == "organizations" && has("name") {
        rules.push(required("name", ""));
        rules.push(max_length("name", 255, ""));
    }
    if kind == "people" && has("email") {
        rules.push(email("email", ""));
        rules.push(
            Rule::new(Check::Unique {
                columns: vec!["email".into()],
                owner: None,
                ignore_case: true,
            })
            .severity(crate::Severity::Error)
            .message("email `{value}` is repeated; Watermark rejects duplicate e-mails (other files find people by e-mail)"),
        );
    }
    // Basic Person Attributes, Student Term Attributes and Enrollments find people by e-mail.
    if matches!(
        kind,
        "enrollments" | "person_basic_attributes" | "student_term_attributes"
    ) && has("email")
    {
        rules.push(email("email", ""));
        rules.push(reference("email", "people", "email", ""));
    }
    match kind {
        "roles" => {
            for c in ["person_id", "product", "roles"] {
                rules.push(required(c, ""));
            }
            rules.push(enumeration(
                "product",
                &["PSS", "SLL", "IH"],
                Matching::IgnoreCase,
                "",
            ));
            // The roles each product accepts, `|`-separated; `none` removes the user's roles
            // for that product. The article does not say whether role names are
            // case-sensitive: compared ignoring case, so nothing Watermark may accept is
            // reported.
            let roles =
                |product: &str, roles: &[&str]| (product.to_owned(), crate::schema::strings(roles));
            rules.push(Rule::new(Check::EnumBy {
                column: "roles".into(),
                by: "product".into(),
                values: [
                    roles("PSS", &["Administrator", "Contributor", "none"]),
                    roles("SLL", &["Administrator", "Faculty", "Student", "none"]),
                    roles("IH", &["Administrator", "Contributor", "none"]),
                ]
                .into_iter()
                .collect(),
                matching: Matching::IgnoreCase,
                separator: Some('|'),
            }));
            rules.push(
                Rule::new(Check::MaxItems {
                    column: "roles".into(),
                    separator: '|',
                    max: 1,
                })
                .when(when_is("product", &["SLL"], true))
                .message("`{value}` is more than one SLL role; Watermark allows only one SLL role per user"),
            );
            // One row per user and product; person_id is not case-sensitive, nor is product.
            rules.push(
                Rule::new(Check::Unique {
                    columns: vec!["person_id".into(), "product".into()],
                    owner: None,
                    ignore_case: true,
                })
                .severity(crate::Severity::Error)
                .message("person_id `{person_id}` already has a row for product `{product}` (both compared ignoring case); Watermark takes one row per user and product"),
            );
            rules.push(reference("person_id", "people", "person_id", ""));
        }
        "program_curriculum" => {
            for c in [
                "program_code",
                "course_code",
                "aligned_course",
                "required_course",
            ] {
                rules.push(required(c, ""));
            }
            for c in ["aligned_course", "required_course"] {
                rules.push(
                    enumeration(
                        c,
                        &["yes", "no", "true", "false", "y", "n"],
                        Matching::IgnoreCase,
                        "",
                    )
                    .severity(crate::Severity::Warning)
                    .message("`{value}` is not a yes/no value"),
                );
            }
            rules.push(reference("program_code", "programs", "program_code", ""));
        }
        _ => {}
    }
    rules
}
