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
