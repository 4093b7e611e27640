//! OneRoster 1.1 CSV (1EdTech): the format SIS systems export, checked before it is mapped
//! onward. Sources: formats.md §6 (spec front matter and conformant implementations).
//!
//! Files are named by kind and declared in `manifest.csv` (`file.<name>` = bulk, delta or
//! absent). Headers are case-sensitive, in spec order, extension columns (`metadata.*`) to
//! the right. In bulk mode `status` and `dateLastModified` are blank and every reference
//! resolves inside the package (an error otherwise); in delta mode both are set and a
//! dangling reference is a warning.

use super::rule::*;
use crate::report::Severity;
use crate::schema::{Check, Condition, Detect, Kind, Manifest, Matching, Rule, Target};

const GRADES: &[&str] = &[
    "IT", "PR", "PK", "TK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11",
    "12", "13", "PS", "UG", "Other",
];

fn mode(values: &[&str]) -> Condition {
    Condition::Mode {
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// A OneRoster date: exactly `YYYY-MM-DD`.
fn day(column: &str) -> Rule {
    Rule::new(Check::Date {
        column: column.into(),
        allow_delete: false,
        form: crate::schema::DateForm::Date,
    })
}

fn exact(column: &str, values: &[&str]) -> Rule {
    enumeration(column, values, Matching::Exact, "")
}

fn list(column: &str, values: &[&str]) -> Rule {
    Rule::new(Check::Enum {
        column: column.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        matching: Matching::Exact,
        blank_invalid: false,
        separator: Some(','),
    })
}

/// References: an error in a bulk file (the package must be complete), a warning in delta.
fn refs(column: &str, kind: &str, separator: Option<char>) -> [Rule; 2] {
    let r = || {
        Rule::new(Check::Reference {
            column: column.into(),
            kind: kind.into(),
            key: "sourcedId".into(),
            ordered: false,
            separator,
        })
    };
    [
        r().when(mode(&["bulk"]))
            .severity(Severity::Error)
            .message(&format!(
                "{column} `{{value}}` is not defined in {kind}.csv; a bulk package must be complete"
            )),
        r().when(mode(&["delta"])),
    ]
}

/// A manifest property with one accepted value (§6.2); blank is wrong too.
fn version(property: &str, value: &str, why: &str) -> Rule {
    Rule::new(Check::Enum {
        column: "value".into(),
        values: vec![value.into()],
        matching: Matching::Exact,
        blank_invalid: true,
        separator: None,
    })
    .when(when_is("propertyName", &[property], false))
    .message(&format!("{property} must be `{value}` ({why})"))
}

/// A reference whose target must have a given `type` (§6.5: a class's school is an org
/// of type school; a course's school year a session of type schoolYear), whatever the mode.
fn typed(column: &str, kind: &str, type_: &str) -> Rule {
    Rule::new(Check::ReferenceWhere {
        column: column.into(),
        kind: kind.into(),
        key: "sourcedId".into(),
        attribute: "type".into(),
        values: vec![type_.into()],
        separator: None,
    })
}

/// Columns every data file starts with, and their bulk/delta rules.
fn common(rules: &mut Vec<Rule>) {
    rules.push(required("sourcedId", ""));
    rules.push(
        repeated("sourcedId", "sourcedIds must be unique in a file").severity(Severity::Error),
    );
    for c in ["status", "dateLastModified"] {
        rules.push(
            Rule::new(Check::Blank { column: c.into() })
                .when(mode(&["bulk"]))
                .message(&format!("`{c}` must be blank in a bulk file")),
        );
        rules.push(
            required(c, "")
                .when(mode(&["delta"]))
                .message(&format!("`{c}` must be set in a delta file")),
        );
    }
    rules.push(exact("status", &["active", "tobedeleted"]).message(
        "`{value}` is not a OneRoster status (active, tobedeleted; `inactive` is OneRoster 1.0)",
    ));
    rules.push(Rule::new(Check::Date {
        column: "dateLastModified".into(),
        allow_delete: false,
        form: crate::schema::DateForm::DateTime,
    }));
}

fn kind(name: &str, columns: &[&str], detect: Detect, mut rules: Vec<Rule>) -> Kind {
    let mut all = vec![];
    common(&mut all);
    all.append(&mut rules);
    Kind {
        detect,
        rules: all,
        required_columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        ordered_columns: true,
        identity: vec!["sourcedId".into()],
        ..Kind::new(name, columns)
    }
}

/// The OneRoster 1.1 CSV target.
///
/// ```
/// let t = validator_core::targets::oneroster();
/// assert_eq!(t.kinds[0].name, "manifest");
/// assert!(t.kind("academicSessions").is_some());
/// ```
pub fn oneroster() -> Target {
    let mut t = Target::new("oneroster");
    t.title = "OneRoster".into();
    t.description =
        "OneRoster 1.1 CSV package (manifest.csv + data files), as SIS systems export it".into();
    t.delimiter = Some(',');
    // Names are case-sensitive, but a wrongly cased header is still recognised so that it
    // can be reported as such (`header.case`) rather than as an unknown file.
    t.fixed_file_names = true;
    t.one_file_per_kind = true;
    t.require_rows = true;
    // RFC 4180 as the binding restricts it: no carriage returns (nor line feeds) in fields.
    t.forbid_line_breaks_in_fields = true;
    t.manifest = Some(Manifest {
        kind: "manifest".into(),
        key: "propertyName".into(),
        value: "value".into(),
        prefix: "file.".into(),
        required: vec!["manifest.version".into(), "oneroster.version".into()],
    });
    t.kinds = vec![
        Kind {
            detect: Detect::all(&["propertyName", "value"]),
            required_columns: vec!["propertyName".into(), "value".into()],
            ordered_columns: true,
            rules: vec![
                required("propertyName", ""),
                repeated("propertyName", "each property appears once").severity(Severity::Error),
                exact("value", &["absent", "bulk", "delta"]).when(Condition::Prefix {
                    column: "propertyName".into(),
                    prefix: "file.".into(),
                }),
                version("manifest.version", "1.0", "the manifest format version"),
                version(
                    "oneroster.version",
                    "1.1",
                    "this validator checks OneRoster 1.1 packages",
                ),
            ],
            identity: vec!["propertyName".into()],
            ..Kind::new("manifest", &["propertyName", "value"])
        },
        kind(
            "orgs",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "name",
                "type",
                "identifier",
                "parentSourcedId",
            ],
            Detect::all(&["sourcedId", "name", "type"]).none(&["title"]),
            [
                vec![
                    required("name", ""),
                    required("type", ""),
                    exact(
                        "type",
                        &[
                            "department",
                            "school",
                            "district",
                            "local",
                            "state",
                            "national",
                        ],
                    ),
                ],
                refs("parentSourcedId", "orgs", None).to_vec(),
            ]
            .concat(),
        ),
        kind(
            "academicSessions",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "title",
                "type",
                "startDate",
                "endDate",
                "parentSourcedId",
                "schoolYear",
            ],
            Detect::all(&["sourcedId", "title", "startDate", "endDate"]),
            [
                vec![
                    required("title", ""),
                    required("type", ""),
                    exact("type", &["gradingPeriod", "semester", "schoolYear", "term"]),
                    required("startDate", ""),
                    required("endDate", ""),
                    day("startDate"),
                    day("endDate"),
                    required("schoolYear", ""),
                    integer("schoolYear", ""),
                ],
                refs("parentSourcedId", "academicSessions", None).to_vec(),
            ]
            .concat(),
        ),
        kind(
            "courses",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "schoolYearSourcedId",
                "title",
                "courseCode",
                "grades",
                "orgSourcedId",
                "subjects",
                "subjectCodes",
            ],
            Detect::all(&["sourcedId", "title", "orgSourcedId"]).none(&["classType"]),
            [
                vec![
                    required("title", ""),
                    required("orgSourcedId", ""),
                    list("grades", GRADES),
                ],
                refs("orgSourcedId", "orgs", None).to_vec(),
                refs("schoolYearSourcedId", "academicSessions", None).to_vec(),
                vec![typed(
                    "schoolYearSourcedId",
                    "academicSessions",
                    "schoolYear",
                )],
            ]
            .concat(),
        ),
        kind(
            "classes",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "title",
                "grades",
                "courseSourcedId",
                "classCode",
                "classType",
                "location",
                "schoolSourcedId",
                "termSourcedIds",
                "subjects",
                "subjectCodes",
                "periods",
            ],
            Detect::all(&["sourcedId", "classType"]),
            [
                vec![
                    required("title", ""),
                    required("courseSourcedId", ""),
                    required("classType", ""),
                    exact("classType", &["homeroom", "scheduled"]),
                    required("schoolSourcedId", ""),
                    required("termSourcedIds", ""),
                    list("grades", GRADES),
                ],
                refs("courseSourcedId", "courses", None).to_vec(),
                refs("schoolSourcedId", "orgs", None).to_vec(),
                vec![typed("schoolSourcedId", "orgs", "school")],
                refs("termSourcedIds", "academicSessions", Some(',')).to_vec(),
            ]
            .concat(),
        ),
        kind(
            "users",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "enabledUser",
                "orgSourcedIds",
                "role",
                "username",
                "userIds",
                "givenName",
                "familyName",
                "middleName",
                "identifier",
                "email",
                "sms",
                "phone",
                "agentSourcedIds",
                "grades",
                "password",
            ],
            Detect::all(&["sourcedId", "enabledUser", "username"]),
            [
                vec![
                    required("enabledUser", ""),
                    exact("enabledUser", &["true", "false"]),
                    required("orgSourcedIds", ""),
                    required("role", ""),
                    exact(
                        "role",
                        &[
                            "administrator",
                            "aide",
                            "guardian",
                            "parent",
                            "proctor",
                            "relative",
                            "student",
                            "teacher",
                        ],
                    ),
                    required("username", ""),
                    required("givenName", ""),
                    required("familyName", ""),
                    email("email", ""),
                    list("grades", GRADES),
                ],
                refs("orgSourcedIds", "orgs", Some(',')).to_vec(),
                refs("agentSourcedIds", "users", Some(',')).to_vec(),
            ]
            .concat(),
        ),
        kind(
            "enrollments",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "classSourcedId",
                "schoolSourcedId",
                "userSourcedId",
                "role",
                "primary",
                "beginDate",
                "endDate",
            ],
            Detect::all(&["sourcedId", "classSourcedId", "userSourcedId"]),
            [
                vec![
                    required("classSourcedId", ""),
                    required("schoolSourcedId", ""),
                    required("userSourcedId", ""),
                    required("role", ""),
                    exact("role", &["administrator", "proctor", "student", "teacher"]),
                    exact("primary", &["true", "false"]),
                    // §6.3: primary is for teachers only.
                    exact("primary", &["false"])
                        .when(when_is(
                            "role",
                            &["administrator", "proctor", "student"],
                            false,
                        ))
                        .message(
                            "`primary` is for teachers only; this enrollment's role is {role}",
                        ),
                    day("beginDate"),
                    day("endDate"),
                ],
                refs("classSourcedId", "classes", None).to_vec(),
                refs("schoolSourcedId", "orgs", None).to_vec(),
                refs("userSourcedId", "users", None).to_vec(),
            ]
            .concat(),
        ),
        kind(
            "demographics",
            &[
                "sourcedId",
                "status",
                "dateLastModified",
                "birthDate",
                "sex",
                "americanIndianOrAlaskaNative",
                "asian",
                "blackOrAfricanAmerican",
                "nativeHawaiianOrOtherPacificIslander",
                "white",
                "demographicRaceTwoOrMoreRaces",
                "hispanicOrLatinoEthnicity",
                "countryOfBirthCode",
                "stateOfBirthAbbreviation",
                "cityOfBirth",
                "publicSchoolResidenceStatus",
            ],
            Detect::all(&["sourcedId", "birthDate", "sex"]),
            [
                vec![day("birthDate"), exact("sex", &["male", "female"])],
                [
                    "americanIndianOrAlaskaNative",
                    "asian",
                    "blackOrAfricanAmerican",
                    "nativeHawaiianOrOtherPacificIslander",
                    "white",
                    "demographicRaceTwoOrMoreRaces",
                    "hispanicOrLatinoEthnicity",
                ]
                .iter()
                .map(|c| exact(c, &["true", "false"]))
                .collect(),
                refs("sourcedId", "users", None).to_vec(),
            ]
            .concat(),
        ),
    ];
    for k in &mut t.kinds {
        k.file_name = format!("{}.csv", k.name);
        // Extension columns (`metadata.*`) are allowed to the right.
        k.unknown_columns = Severity::Warning;
        k.case_sensitive_header = true;
    }
    t
}
