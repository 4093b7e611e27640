//! Sunbird-Lern bulk upload (userorg-service): users, organisations, locations.
//!
//! Sources: formats.md §3 (server code) and the seed. The user and org columns are the
//! reference configuration (`userProfileConfig` / `orgProfileConfig` in lernsetup.md):
//! a header may be the display name or the internal name, case-insensitive and trimmed.
//! A deployment's own configuration replaces these tables through `--target-file`.
//! Decisions where the sources are silent: `External ID` is an alias of
//! `SCHOOL EXTERNAL ID`; the org type column is `organisationType` (also
//! `ORGANISATION TYPE`, fixing the reference file's `ORGANISATION cTYPE` typo); userType
//! values follow the seed (teacher, other); roles are upper-case ids.

use std::collections::BTreeMap;

use super::rule::*;
use crate::report::Severity;
use crate::schema::{BundleFormat, Detect, Kind, Matching, Parameter, Rule, Target};

fn aliases(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, c)| ((*a).to_owned(), (*c).to_owned()))
        .collect()
}

fn messages(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    aliases(pairs)
}

const MANDATORY: &str = "Mandatory parameter {value} is missing.";
/// The same message for a blank value (the column is the rule's).
const MANDATORY_ROW: &str = "Mandatory parameter {column} is missing.";

/// The Sunbird target.
///
/// ```
/// let t = validator_core::targets::sunbird();
/// let names: Vec<&str> = t.kinds.iter().map(|k| k.name.as_str()).collect();
/// assert_eq!(names, ["location", "org", "user"]);
/// ```
pub fn sunbird() -> Target {
    let mut t = Target::new("sunbird");
    t.title = "Sunbird".into();
    t.description = "Sunbird-Lern bulk upload: one CSV per upload (user, org or location)".into();
    t.delimiter = Some(',');
    // The server does not strip a BOM: it becomes part of the first header name.
    t.bom_severity = Severity::Warning;
    t.max_file_bytes = Some(10_000_000);
    // Header validation is synchronous: a bad header fails the upload before any row.
    t.header_errors_reject_file = true;
    // opencsv's reader skips lines whose cells are all empty, before the header too.
    t.skip_blank_lines_before_header = true;
    t.bundle.format = BundleFormat::Csv;
    for (code, msg) in [
        ("csv.empty_file", "CSV file is Empty."),
        ("file.too_large", "Max allowed size is 10MB"),
    ] {
        t.platform_messages.insert(code.into(), msg.into());
    }
    t.kinds = vec![location(), org(), user()];
    t
}

fn location() -> Kind {
    Kind {
        file_name: "location.csv".into(),
        // Sunbird takes the kind from the endpoint; we recognise a location file by its
        // key columns, then hold its header to exactly the four (missing: error, extra: error).
        detect: Detect::all(&["code", "name"]),
        required_columns: vec![
            "code".into(),
            "name".into(),
            "parentCode".into(),
            "parentId".into(),
        ],
        case_sensitive_header: true,
        unknown_columns: Severity::Error,
        parameter: Some(Parameter {
            name: "location_type".into(),
            values: ["state", "district", "block", "cluster", "school"]
                .map(String::from)
                .to_vec(),
            // Only the upload needs it: `check` and `bundle` warn and check the rows, and
            // `submit` refuses without it.
            when_missing: Severity::Warning,
        }),
        platform_messages: messages(&[
            ("header.missing_column", MANDATORY),
            ("param.missing", "Mandatory parameter type is missing."),
        ]),
        rules: vec![
            required("code", "Mandatory parameter code is missing."),
            required("name", ""),
            // A state has no parent; everything below needs one.
            warning(one_of(&["parentCode", "parentId"], ""))
                .when(crate::schema::Condition::Param {
                    name: "location_type".into(),
                    values: ["district", "block", "cluster", "school"]
                        .map(String::from)
                        .to_vec(),
                })
                .message(
                    "no parentCode or parentId: only a top-level location (state) may have neither",
                ),
            repeated(
                "code",
                "the later row updates the location the earlier one created",
            ),
        ],
        identity: vec!["code".into()],
        ..Kind::new("location", &["code", "name", "parentCode", "parentId"])
    }
}

fn org() -> Kind {
    let columns = [
        "orgName",
        "locationCode",
        "status",
        "organisationId",
        "externalId",
        "description",
        "organisationType",
    ];
    Kind {
        file_name: "org.csv".into(),
        detect: Detect::all(&["orgName"]),
        aliases: aliases(&[
            ("SCHOOL NAME", "orgName"),
            ("BLOCK CODE", "locationCode"),
            ("STATUS", "status"),
            ("SCHOOL ID", "organisationId"),
            ("EXTERNAL ID", "externalId"),
            ("DESCRIPTION", "description"),
            ("ORGANISATION TYPE", "organisationType"),
        ]),
        required_columns: ["orgName", "locationCode", "status", "organisationType"]
            .map(String::from)
            .to_vec(),
        unknown_columns: Severity::Error,
        platform_messages: messages(&[
            ("header.missing_column", MANDATORY),
            (
                "header.unknown",
                "Invalid column: {value}. Valid columns are: orgName, locationCode, status, organisationId, externalId, description, organisationType.",
            ),
        ]),
        rules: vec![
            required("orgName", "Mandatory parameter orgName is missing."),
            required(
                "locationCode",
                "Mandatory parameter locationCode is missing.",
            ),
            required("status", "Mandatory parameter status is missing."),
            required(
                "organisationType",
                "Mandatory parameter organisationType is missing.",
            ),
            enumeration(
                "status",
                &["active", "inactive"],
                Matching::IgnoreCase,
                "Please provide valid organisationstatus.",
            ),
            enumeration(
                "organisationType",
                &["school", "board"],
                Matching::IgnoreCase,
                "",
            ),
            repeated(
                "externalId",
                "the later row updates the organisation the earlier one created",
            ),
        ],
        // orgExternalId is looked up lower-cased (formats.md §3).
        identity: vec!["externalId".into()],
        case_insensitive: vec!["externalId".into()],
        ..Kind::new("org", &columns)
    }
}

fn user() -> Kind {
    let columns = [
        "firstName",
        "phone",
        "email",
        "orgId",
        "userType",
        "roles",
        "userId",
        "orgExternalId",
    ];
    Kind {
        file_name: "user.csv".into(),
        // NAME alone would also match a location file's `name`.
        detect: Detect::all(&["firstName"]).any(&[
            "userType", "roles", "phone", "email", "orgId", "orgExternalId", "userId",
        ]),
        aliases: aliases(&[
            ("NAME", "firstName"),
            ("MOBILE PHONE", "phone"),
            ("EMAIL", "email"),
            ("SCHOOL ID", "orgId"),
            ("USER_TYPE", "userType"),
            ("ROLES", "roles"),
            ("USER ID", "userId"),
            ("SCHOOL EXTERNAL ID", "orgExternalId"),
            ("External ID", "orgExternalId"),
        ]),
        required_columns: ["firstName", "userType", "roles"].map(String::from).to_vec(),
        unknown_columns: Severity::Error,
        platform_messages: messages(&[
            ("header.missing_column", MANDATORY),
            ("header.unknown", "Invalid column: {value}. Valid columns are: firstName, phone, email, orgId, userType, roles, userId, orgExternalId."),
        ]),
        rules: vec![
            required("firstName", "Mandatory parameter firstName is missing."),
            required("userType", "Mandatory parameter userType is missing."),
            required("roles", "Mandatory parameter roles is missing."),
            one_of(&["phone", "email"], "")
                .message("either MOBILE PHONE or EMAIL is needed"),
            one_of(&["orgId", "orgExternalId"], "")
                .message("either SCHOOL ID or External ID is needed to associate the user with an organisation"),
            enumeration("userType", &["teacher", "other"], Matching::IgnoreCase, ""),
            roles(),
            email("email", ""),
        ],
        // A blank userId creates a user: such rows are identified by their whole content.
        identity: vec!["userId".into()],
        ..Kind::new("user", &columns)
    }
}

/// ROLES: comma-separated upper-case role ids. Which ids exist is deployment data; the
/// reference set is Sunbird's default roles.
fn roles() -> Rule {
    Rule::new(crate::schema::Check::Enum {
        column: "roles".into(),
        values: [
            "PUBLIC",
            "CONTENT_CREATOR",
            "CONTENT_REVIEWER",
            "BOOK_CREATOR",
            "BOOK_REVIEWER",
            "COURSE_MENTOR",
            "COURSE_CREATOR",
            "COURSE_ADMIN",
            "ORG_ADMIN",
            "ORG_MODERATOR",
            "SYSTEM_ADMINISTRATION",
            "PROGRAM_MANAGER",
            "PROGRAM_DESIGNER",
            "REPORT_VIEWER",
            "REPORT_ADMIN",
        ]
        .map(String::from)
        .to_vec(),
        matching: Matching::Exact,
        blank_invalid: false,
        separator: Some(','),
    })
    .platform("Please provide valid role.")
    .message("`{value}` is not a role id this deployment knows (role ids are upper-case, comma-separated)")
}

/// Applies a deployment's `userProfileConfig` or `orgProfileConfig` system setting (JSON:
/// `{"csv": {"supportedColumns": {"DISPLAY": "internalName", ...}, "mandatoryColumns":
/// [...]}}`, or that inner object alone) to the Sunbird target: the kind's columns become
/// the internal names, the display names its aliases, and the mandatory columns required in
/// the header and in every row. Which kind it configures is told by the columns (`orgName`:
/// org, otherwise user). Returns `None` when `json` is not such a setting.
///
/// ```
/// let cfg = r#"{"csv": {"supportedColumns": {"FULL NAME": "firstName", "EMAIL": "email", "ROLES": "roles"},
///              "mandatoryColumns": ["firstName", "roles"]}}"#;
/// let t = validator_core::targets::sunbird::with_profile_config(cfg).unwrap();
/// let user = t.kind("user").unwrap();
/// assert_eq!(user.columns, ["email", "firstName", "roles"]); // order is not significant
/// assert_eq!(user.required_columns, ["firstName", "roles"]);
/// assert_eq!(user.aliases["FULL NAME"], "firstName");
/// ```
pub fn with_profile_config(json: &str) -> Option<Target> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let csv = v.get("csv").unwrap_or(&v);
    let supported = csv.get("supportedColumns")?.as_object()?;
    let mandatory: Vec<String> = csv
        .get("mandatoryColumns")
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut columns: Vec<String> = Vec::new();
    let mut aliases = BTreeMap::new();
    for (display, internal) in supported {
        let internal = internal.as_str()?.to_owned();
        if !columns.contains(&internal) {
            columns.push(internal.clone());
        }
        aliases.insert(display.clone(), internal);
    }
    let mut t = sunbird();
    let name = if columns.iter().any(|c| c == "orgName") {
        "org"
    } else {
        "user"
    };
    let kind = t.kinds.iter_mut().find(|k| k.name == name)?;
    // Rules on columns this deployment does not have are dropped; mandatory ones added.
    kind.rules.retain(|r| {
        r.check
            .columns()
            .iter()
            .all(|c| columns.iter().any(|x| x == c))
    });
    for m in &mandatory {
        if !kind
            .rules
            .iter()
            .any(|r| matches!(&r.check, crate::schema::Check::Required { column } if column == m))
        {
            kind.rules.push(required(m, MANDATORY_ROW));
        }
    }
    kind.detect = if name == "org" {
        Detect::all(&["orgName"])
    } else {
        let key = if columns.iter().any(|c| c == "firstName") {
            "firstName"
        } else {
            columns.first()?
        };
        Detect::all(&[key])
    };
    kind.columns = columns;
    kind.aliases = aliases;
    kind.required_columns = mandatory;
    t.description = format!("{} (with this deployment's {name} columns)", t.description);
    Some(t)
}
