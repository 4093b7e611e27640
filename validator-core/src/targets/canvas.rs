//! Canvas LMS SIS import CSV (`import_type=instructure_csv`).
//!
//! Sources: formats.md §1 (Canvas's own server code) and the conformance cases derived from
//! Canvas's test suite, which win where they disagree. Kinds are in the server's IMPORTERS
//! order, which is both its detection order (first match wins) and its processing order.
//! Platform messages are Canvas's wording; `{first_owner}` is the owner of the earlier row.

use super::rule::*;
use crate::report::Severity;
use crate::schema::{
    BlankRow, CellConverter, Check, Detect, Dialect, HeaderTrim, Kind, Matching, RowSeparator,
    Rule, Target,
};

fn kind(name: &str, detect: Detect, columns: &[&str], rules: Vec<Rule>) -> Kind {
    Kind {
        detect,
        rules,
        ..Kind::new(name, columns)
    }
}

const ACTIVE_DELETED: &[&str] = &["active", "deleted"];

/// The Canvas target.
///
/// ```
/// let t = validator_core::targets::canvas();
/// assert_eq!(t.kinds[0].name, "change_sis_ids");
/// assert!(t.kind("enrollments").is_some());
/// ```
pub fn canvas() -> Target {
    let mut t = Target::new("canvas");
    t.title = "Canvas".into();
    t.description = "Canvas LMS SIS import (instructure_csv): CSV files or a ZIP of them".into();
    t.delimiter = Some(',');
    // Canvas detects with stripped, lower-cased headers but reads rows by the lower-cased,
    // unstripped header, so ` status` is detected and then read as missing.
    t.header.trim_for_reading = false;
    // Canvas reads with Ruby's CSV: `headers: :first_row, encoding: "bom|utf-8",
    // skip_blanks: true, converters: ->(f) { f&.strip&.presence }` (csv_base_importer.rb),
    // and its detection pass converts the header row the same way.
    t.header.trim = HeaderTrim::RubyStripPresence;
    t.dialect = Dialect {
        row_separator: RowSeparator::FirstInFile,
        one_bom: true,
        cells: CellConverter::RubyStripPresence,
        // A file with no row is never given to an importer: no error, nothing imported.
        empty_file: Severity::Warning,
        // csv_base_importer.rb `csv_rows`: `next if row.to_hash.values.all?(&:nil?)`.
        blank_row: BlankRow::FirstOfEachHeader,
    };
    for (code, msg) in [
        ("encoding.invalid_utf8", "Invalid UTF-8"),
        ("encoding.utf16", "Invalid UTF-8"),
        ("csv.quote_in_unquoted", "Malformed CSV"),
        ("csv.text_after_quote", "Malformed CSV"),
        ("csv.unclosed_quote", "Malformed CSV"),
        ("csv.row_separator", "Malformed CSV"),
        (
            "detect.unknown_kind",
            "Couldn't find Canvas CSV import headers",
        ),
        ("row.nul", "Some of the fields contain NULL character"),
        ("file.unknown_type", "Skipping unknown file type"),
    ] {
        t.platform_messages.insert(code.into(), msg.into());
    }
    t.kinds = vec![
        change_sis_ids(),
        accounts(),
        terms(),
        abstract_courses(),
        courses(),
        sections(),
        xlists(),
        users(),
        logins(),
        enrollments(),
        admins(),
        group_categories(),
        groups(),
        group_memberships(),
        differentiation_tag_sets(),
        differentiation_tags(),
        differentiation_tag_memberships(),
        kind(
            "grade_publishing_results",
            Detect::all(&["enrollment_id", "grade_publishing_status"]),
            &["enrollment_id", "grade_publishing_status", "message"],
            vec![],
        ),
        user_observers(),
        institutional_tag_categories(),
        institutional_tags(),
        institutional_tag_associations(),
    ];
    for (kind, columns) in IDENTITY {
        if let Some(k) = t.kinds.iter_mut().find(|k| k.name == *kind) {
            k.identity = columns.iter().map(|c| (*c).to_owned()).collect();
        }
    }
    t
}

/// What Canvas's batch mode for `term` deletes when the upload leaves it out
/// (`SisBatch#remove_previous_imports`): SIS courses of the term, the sections of those
/// courses and the enrollments in them; `None` if `target` lacks those kinds.
///
/// ```
/// let t = validator_core::targets::canvas();
/// let s = validator_core::targets::canvas_batch_scope(&t, "T1").unwrap();
/// assert_eq!(s.root, ("courses".to_owned(), "term_id".to_owned()));
/// ```
pub fn canvas_batch_scope(target: &Target, term: &str) -> Option<crate::diff::Scope> {
    let has = |k: &str| target.kind(k).is_some();
    if !(has("courses") && has("sections") && has("enrollments")) {
        return None;
    }
    let link = |k: &str, c: &str, p: &str| (k.to_owned(), c.to_owned(), p.to_owned());
    Some(crate::diff::Scope {
        value: term.to_owned(),
        root: ("courses".into(), "term_id".into()),
        links: vec![
            link("sections", "course_id", "courses"),
            link("enrollments", "course_id", "courses"),
            link("enrollments", "section_id", "sections"),
        ],
    })
}

/// How Canvas's diffing mode identifies a row of each kind: the importers'
/// `identifying_fields` (lib/sis/csv/*_importer.rb), which `DiffGenerator` hands to
/// `CsvDiff`. Kinds Canvas gives none (abstract courses, grade publishing results) are
/// keyed by their id column, so that `preflight diff` still pairs their rows.
/// `group_categories` is keyed by `group_category_id`: Canvas's importer names `group_id`,
/// a column such files do not have, so every row would share one key.
#[rustfmt::skip]
const IDENTITY: &[(&str, &[&str])] = &[
    ("change_sis_ids", &["old_id", "old_integration_id"]),
    ("accounts", &["account_id"]),
    ("terms", &["term_id"]),
    ("abstract_courses", &["abstract_course_id"]),
    ("courses", &["course_id"]),
    ("sections", &["section_id"]),
    ("xlists", &["section_id"]),
    ("users", &["user_id"]),
    ("logins", &["user_id"]),
    ("enrollments", &["course_id", "section_id", "user_id", "user_integration_id", "role", "associated_user_id"]),
    ("admins", &["user_id", "account_id"]),
    ("group_categories", &["group_category_id"]),
    ("groups", &["group_id"]),
    ("group_memberships", &["group_id", "user_id"]),
    ("differentiation_tag_sets", &["tag_set_id"]),
    ("differentiation_tags", &["tag_id"]),
    ("differentiation_tag_memberships", &["tag_id", "user_id"]),
    ("grade_publishing_results", &["enrollment_id"]),
    ("user_observers", &["observer_id"]),
    ("institutional_tag_categories", &["category_id"]),
    ("institutional_tags", &["institutional_tag_id"]),
    ("institutional_tag_associations", &["institutional_tag_id", "user_id"]),
];

fn change_sis_ids() -> Kind {
    kind(
        "change_sis_ids",
        Detect::default().any(&["old_id", "old_integration_id"]),
        &[
            "old_id",
            "new_id",
            "old_integration_id",
            "new_integration_id",
            "type",
        ],
        vec![
            one_of(
                &["old_id", "old_integration_id"],
                "No old_id or old_integration_id given for change_sis_id",
            ),
            one_of(
                &["new_id", "new_integration_id"],
                "No new_id or new_integration_id given for change_sis_id",
            ),
            required("type", "No type given for change_sis_id"),
            enumeration(
                "type",
                &[
                    "account",
                    "term",
                    "course",
                    "section",
                    "group",
                    "group_category",
                    "user",
                ],
                Matching::IgnoreCase,
                "Invalid type '{value}' for change_sis_id",
            ),
            exclusive(
                &["new_integration_id", "type"],
                "Group categories should not have integration IDs.",
            )
            .when(when_one_of("type", &["group_category"]))
            .message("group categories have no integration_id; leave new_integration_id blank"),
        ],
    )
}

fn accounts() -> Kind {
    kind(
        "accounts",
        Detect::all(&["account_id", "parent_account_id"]),
        &[
            "account_id",
            "parent_account_id",
            "name",
            "status",
            "integration_id",
        ],
        vec![
            required("account_id", "No account_id given for an account"),
            required("name", "No name given for account {account_id}, skipping"),
            required("status", ""),
            status(
                ACTIVE_DELETED,
                "Improper status \"{value}\" for account {account_id}, skipping",
            ),
            Rule::new(Check::Reference {
                column: "parent_account_id".into(),
                kind: "accounts".into(),
                key: "account_id".into(),
                ordered: true,
                separator: None,
            })
            .platform("Parent account didn't exist for {account_id}"),
            repeated(
                "account_id",
                "Canvas applies the later row over the earlier one",
            ),
        ],
    )
}

fn terms() -> Kind {
    kind(
        "terms",
        Detect::all(&["term_id", "name"]),
        &[
            "term_id",
            "name",
            "status",
            "integration_id",
            "date_override_enrollment_type",
            "start_date",
            "end_date",
        ],
        vec![
            required("term_id", "No term_id given for a term"),
            required("name", "No name given for term {term_id}"),
            required("status", ""),
            status(
                ACTIVE_DELETED,
                "Improper status \"{value}\" for term {term_id}",
            ),
            enumeration(
                "date_override_enrollment_type",
                &[
                    "StudentEnrollment",
                    "TeacherEnrollment",
                    "TaEnrollment",
                    "DesignerEnrollment",
                ],
                Matching::IgnoreCase,
                "",
            ),
            date("start_date", "Bad date format for term {term_id}"),
            date("end_date", "Bad date format for term {term_id}"),
            // A repeated term_id with a date override targets the term above it: not a repeat.
            repeated(
                "term_id",
                "Canvas applies the later row over the earlier one",
            )
            .when(when_blank("date_override_enrollment_type")),
        ],
    )
}

fn abstract_courses() -> Kind {
    kind(
        "abstract_courses",
        Detect::all(&["abstract_course_id", "short_name"]).none(&["course_id"]),
        &[
            "abstract_course_id",
            "short_name",
            "long_name",
            "account_id",
            "term_id",
            "status",
            "integration_id",
            "fallback_account_id",
        ],
        vec![
            required(
                "abstract_course_id",
                "No abstract_course_id given for an abstract course",
            ),
            required(
                "short_name",
                "No short_name given for abstract course {abstract_course_id}",
            ),
            required(
                "long_name",
                "No long_name given for abstract course {abstract_course_id}",
            ),
            required("status", ""),
            status(
                ACTIVE_DELETED,
                "Improper status \"{value}\" for abstract course {abstract_course_id}",
            ),
            reference("account_id", "accounts", "account_id", ""),
            reference("term_id", "terms", "term_id", ""),
            repeated(
                "abstract_course_id",
                "Canvas applies the later row over the earlier one",
            ),
        ],
    )
}

fn courses() -> Kind {
    kind(
        "courses",
        Detect::all(&["course_id", "short_name"]),
        &[
            "course_id",
            "short_name",
            "long_name",
            "account_id",
            "term_id",
            "status",
            "integration_id",
            "start_date",
            "end_date",
            "course_format",
            "blueprint_course_id",
            "grade_passback_setting",
            "homeroom_course",
            "friendly_name",
            "abstract_course_id",
            "fallback_account_id",
        ],
        vec![
            required("course_id", "No course_id given for a course"),
            // Canvas's course importer asks for names only when no abstract course supplies them.
            required("short_name", "No short_name given for course {course_id}")
                .when(when_blank("abstract_course_id")),
            required("long_name", "No long_name given for course {course_id}")
                .when(when_blank("abstract_course_id")),
            required("status", ""),
            status(
                &["active", "deleted", "completed", "published", "unpublished"],
                "Improper status \"{value}\" for course {course_id}",
            ),
            enumeration(
                "course_format",
                &["on_campus", "online", "blended", "not_set"],
                Matching::IgnoreCase,
                "Invalid course_format \"{value}\" for course {course_id}",
            ),
            enumeration(
                "grade_passback_setting",
                &["nightly_sync", "disabled", "not_set"],
                Matching::IgnoreCase,
                "Invalid grade_passback_setting \"{value}\" for course {course_id}",
            ),
            boolean("homeroom_course"),
            Rule::new(Check::Date {
                column: "start_date".into(),
                allow_delete: true,
                form: crate::schema::DateForm::Lenient,
            })
            .platform("Bad date format for course {course_id}"),
            Rule::new(Check::Date {
                column: "end_date".into(),
                allow_delete: true,
                form: crate::schema::DateForm::Lenient,
            })
            .platform("Bad date format for course {course_id}"),
            max_length("short_name", 255, ""),
            max_length("long_name", 255, ""),
            reference(
                "account_id",
                "accounts",
                "account_id",
                "Account not found \"{value}\" for course {course_id}",
            ),
            reference("term_id", "terms", "term_id", "").message(
                "term_id `{value}` is not defined in any terms file of this bundle; Canvas silently ignores an unknown term and puts the course in the default term",
            ),
            reference("abstract_course_id", "abstract_courses", "abstract_course_id", ""),
            reference("fallback_account_id", "accounts", "account_id", ""),
            repeated("course_id", "Canvas applies the later row over the earlier one"),
        ],
    )
}

fn sections() -> Kind {
    kind(
        "sections",
        Detect::all(&["section_id", "name"]),
        &[
            "section_id",
            "course_id",
            "name",
            "status",
            "integration_id",
            "start_date",
            "end_date",
        ],
        vec![
            required(
                "section_id",
                "No section_id given for a section in course {course_id}",
            ),
            required("course_id", "No course_id given for a section {section_id}"),
            required(
                "name",
                "No name given for section {section_id} in course {course_id}",
            )
            .when(when_one_of("status", &["active"])),
            required("status", ""),
            status(
                ACTIVE_DELETED,
                "Improper status \"{value}\" for section {section_id} in course {course_id}",
            ),
            date("start_date", "Bad date format for section {section_id}"),
            date("end_date", "Bad date format for section {section_id}"),
            reference(
                "course_id",
                "courses",
                "course_id",
                "Section {section_id} references course {value} which doesn't exist",
            ),
            repeated(
                "section_id",
                "Canvas applies the later row over the earlier one",
            ),
        ],
    )
}

fn xlists() -> Kind {
    kind(
        "xlists",
        Detect::all(&["xlist_course_id", "section_id"]),
        &["xlist_course_id", "section_id", "status"],
        vec![
            required(
                "xlist_course_id",
                "No xlist_course_id given for a cross-listing",
            ),
            required("section_id", "No section_id given for a cross-listing"),
            // A blank status is reported as improper, not as missing.
            Rule::new(Check::Enum {
                column: "status".into(),
                values: vec!["active".into(), "deleted".into()],
                matching: Matching::IgnoreCasePrefix,
                blank_invalid: true,
                separator: None,
            })
            .platform("Improper status \"{value}\" for a cross-listing"),
            // xlist_course_id is created on the fly when unknown: no reference check.
            reference("section_id", "sections", "section_id", ""),
        ],
    )
}

const LOGIN_LIMIT: &str = "Could not save the user with user_id: '{user_id}'. Unknown reason: unique_id is too long (maximum is 100 characters)";

fn users() -> Kind {
    kind(
        "users",
        Detect::all(&["user_id", "login_id"]).none(&[
            "existing_user_id",
            "existing_integration_id",
            "existing_canvas_user_id",
        ]),
        &[
            "user_id",
            "integration_id",
            "login_id",
            "authentication_provider_id",
            "password",
            "ssha_password",
            "first_name",
            "last_name",
            "full_name",
            "sortable_name",
            "short_name",
            "email",
            "pronouns",
            "declared_user_type",
            "canvas_password_notification",
            "home_account",
            "status",
        ],
        vec![
            required("user_id", "No user_id given for a user"),
            required("login_id", "No login_id given for user {user_id}"),
            required("status", "No status given for user {user_id}"),
            status(
                &["active", "suspended", "deleted"],
                "Improper status for user {user_id}",
            ),
            max_length("login_id", 100, LOGIN_LIMIT),
            no_control(
                "login_id",
                "Could not save the user with user_id: '{user_id}'. Invalid login_id: '{value}'",
            ),
            email(
                "email",
                "The email address associated with user '{user_id}' is invalid (email: '{value}')",
            ),
            enumeration(
                "declared_user_type",
                &[
                    "administrative",
                    "observer",
                    "staff",
                    "student",
                    "student_other",
                    "teacher",
                    "<delete>",
                ],
                Matching::IgnoreCase,
                "",
            ),
            boolean("canvas_password_notification"),
            boolean("home_account"),
            repeated(
                "user_id",
                "Canvas applies the later row, silently overwriting the earlier one",
            ),
            claimed(
                &["login_id"],
                "user_id",
                true,
                "An existing Canvas user with the SIS ID {first_owner} has already claimed {user_id}'s user_id requested login information, skipping",
            ),
            claimed(
                &["integration_id"],
                "user_id",
                false,
                "An existing Canvas user with the SIS ID {first_owner} has already claimed {user_id}'s requested integration_id, skipping",
            ),
        ],
    )
}

fn logins() -> Kind {
    kind(
        "logins",
        Detect::default().any(&[
            "existing_user_id",
            "existing_integration_id",
            "existing_canvas_user_id",
        ]),
        &[
            "user_id",
            "integration_id",
            "login_id",
            "authentication_provider_id",
            "password",
            "ssha_password",
            "existing_user_id",
            "existing_integration_id",
            "existing_canvas_user_id",
            "root_account",
            "email",
        ],
        vec![
            required("user_id", ""),
            required("login_id", ""),
            one_of(
                &[
                    "existing_user_id",
                    "existing_integration_id",
                    "existing_canvas_user_id",
                ],
                "No existing user provided for login with SIS ID {user_id}",
            ),
            integer(
                "existing_canvas_user_id",
                "Could not find the existing user for login with SIS ID {user_id}, skipping",
            ),
            max_length("login_id", 100, ""),
            no_control("login_id", ""),
            email("email", ""),
            reference("existing_user_id", "users", "user_id", ""),
            reference("existing_integration_id", "users", "integration_id", ""),
        ],
    )
}

fn enrollments() -> Kind {
    kind(
        "enrollments",
        Detect::default()
            .any(&["section_id", "course_id"])
            .any(&["user_id", "user_integration_id"]),
        &[
            "course_id",
            "section_id",
            "user_id",
            "user_integration_id",
            "role",
            "role_id",
            "status",
            "root_account",
            "start_date",
            "end_date",
            "associated_user_id",
            "limit_section_privileges",
            "notify",
            "temporary_enrollment_source_user_id",
        ],
        vec![
            one_of(
                &["course_id", "section_id"],
                "No course_id or section_id given for an enrollment",
            ),
            one_of(&["user_id", "user_integration_id"], "No user_id given for an enrollment"),
            one_of(&["role", "role_id"], ""),
            required("status", ""),
            status(
                &["active", "deleted", "completed", "inactive", "deleted_last_completed"],
                "Improper status \"{value}\" for an enrollment",
            ),
            // Any other role may be a custom role of the account: only the server can tell.
            warning(enumeration(
                "role",
                &["student", "teacher", "ta", "observer", "designer"],
                Matching::IgnoreCase,
                "Improper role \"{value}\" for an enrollment",
            ))
            .message("`{value}` is not a built-in role (student, teacher, ta, observer, designer); Canvas rejects the row unless the account has a custom role of exactly this name"),
            integer("role_id", ""),
            date("start_date", ""),
            date("end_date", ""),
            boolean("limit_section_privileges"),
            boolean("notify"),
            reference(
                "course_id",
                "courses",
                "course_id",
                "An enrollment referenced a non-existent course {value}",
            ),
            reference(
                "section_id",
                "sections",
                "section_id",
                "An enrollment referenced a non-existent section {value}",
            ),
            // If user_integration_id is present, user_id is ignored.
            reference("user_id", "users", "user_id", "").when(when_blank("user_integration_id")),
            reference("user_integration_id", "users", "integration_id", ""),
            reference(
                "associated_user_id",
                "users",
                "user_id",
                "An enrollment referenced a non-existent associated user {value}",
            ),
            Rule::new(Check::Consistent {
                column: "section_id".into(),
                kind: "sections".into(),
                key: "section_id".into(),
                attribute: "course_id".into(),
                equals: "course_id".into(),
            })
            .platform("An enrollment listed a section ({section_id}) and a course ({course_id}) that are unrelated for user ({user_id})"),
        ],
    )
}

fn admins() -> Kind {
    kind(
        "admins",
        Detect::all(&["account_id", "user_id"]),
        &[
            "user_id",
            "account_id",
            "role_id",
            "role",
            "status",
            "root_account",
        ],
        vec![
            required("user_id", "No user_id given for admin"),
            one_of(&["role_id", "role"], "No role_id or role given for admin"),
            integer("role_id", "Invalid role_id '{value}' for admin"),
            required("status", "No status given for admin"),
            // The admin importer matches exactly active|deleted after downcase and strip.
            enumeration(
                "status",
                ACTIVE_DELETED,
                Matching::IgnoreCase,
                "Invalid status {value} for admin",
            ),
            reference(
                "user_id",
                "users",
                "user_id",
                "Invalid or unknown user_id '{value}' for admin",
            ),
            reference(
                "account_id",
                "accounts",
                "account_id",
                "Invalid account_id given for admin",
            ),
        ],
    )
}

fn group_categories() -> Kind {
    kind(
        "group_categories",
        Detect::all(&["group_category_id", "category_name"]),
        &["group_category_id", "account_id", "course_id", "category_name", "status"],
        vec![
            required("group_category_id", "No sis_id given for a group category"),
            required("category_name", "No name given for group category {group_category_id}"),
            required("status", "No status given for group category {group_category_id}"),
            status(
                ACTIVE_DELETED,
                "Improper status \"{value}\" for group category {group_category_id}, skipping",
            ),
            exclusive(
                &["account_id", "course_id"],
                "Only one context is allowed and both course_id and account_id where provided for group category {group_category_id}.",
            ),
            reference(
                "account_id",
                "accounts",
                "account_id",
                "Account with id \"{value}\" didn't exist for group category {group_category_id}",
            ),
            reference(
                "course_id",
                "courses",
                "course_id",
                "Course with id \"{value}\" didn't exist for group category {group_category_id}",
            ),
            repeated("group_category_id", "the later row updates the earlier one"),
            claimed(
                &["account_id", "course_id", "category_name"],
                "group_category_id",
                false,
                "A group category did not pass validation (group category: {group_category_id}, error: Name {category_name} is already in use.)",
            )
            .message("category_name `{value}` is already used by group category `{first_owner}` in the same context; names must be unique per account or course"),
        ],
    )
}

fn groups() -> Kind {
    kind(
        "groups",
        Detect::all(&["group_id", "name"]),
        &[
            "group_id",
            "group_category_id",
            "account_id",
            "course_id",
            "name",
            "status",
        ],
        vec![
            required("group_id", "No group_id given for a group."),
            required("name", "No name given for group {group_id}."),
            required("status", ""),
            status(
                &["available", "closed", "completed", "deleted"],
                "Improper status \"{value}\" for group {group_id}.",
            ),
            exclusive(
                &["account_id", "course_id"],
                "Only one context is allowed and both course_id and account_id where provided for group {group_id}.",
            ),
            reference(
                "account_id",
                "accounts",
                "account_id",
                "Account with sis id {value} didn't exist for group {group_id}.",
            ),
            reference(
                "course_id",
                "courses",
                "course_id",
                "Course with sis id {value} didn't exist for group {group_id}.",
            ),
            reference(
                "group_category_id",
                "group_categories",
                "group_category_id",
                "Group Category {value} didn't exist for group {group_id}.",
            ),
            repeated(
                "group_id",
                "Canvas applies the later row over the earlier one",
            ),
        ],
    )
}

fn group_memberships() -> Kind {
    kind(
        "group_memberships",
        Detect::all(&["group_id", "user_id"]),
        &["group_id", "user_id", "status"],
        vec![
            required("group_id", "No group_id given for a group user"),
            required("user_id", "No user_id given for a group user"),
            required("status", ""),
            status(
                &["accepted", "deleted"],
                "Improper status \"{value}\" for a group user",
            ),
            reference("group_id", "groups", "group_id", ""),
            reference(
                "user_id",
                "users",
                "user_id",
                "User {value} didn't exist for group user",
            ),
        ],
    )
}

fn differentiation_tag_sets() -> Kind {
    kind(
        "differentiation_tag_sets",
        Detect::all(&["tag_set_id", "set_name"]),
        &["tag_set_id", "course_id", "set_name", "status"],
        vec![
            required(
                "tag_set_id",
                "No sis_id given for a differentiation tag set",
            ),
            required(
                "set_name",
                "No name given for differentiation tag set {tag_set_id}",
            ),
            required(
                "course_id",
                "No course_id given for differentiation tag set {tag_set_id}",
            ),
            required("status", ""),
            status(
                ACTIVE_DELETED,
                "Improper status \"{value}\" for differentiation tag set {tag_set_id}, skipping",
            ),
            reference(
                "course_id",
                "courses",
                "course_id",
                "Course with id \"{value}\" didn't exist for differentiation tag set {tag_set_id}",
            ),
            repeated(
                "tag_set_id",
                "Canvas applies the later row over the earlier one",
            ),
        ],
    )
}

fn differentiation_tags() -> Kind {
    kind(
        "differentiation_tags",
        Detect::all(&["tag_id", "name"]),
        &["tag_id", "tag_set_id", "course_id", "name", "status"],
        vec![
            required("tag_id", "No tag_id given for a differentiation tag."),
            required("name", "No name given for differentiation tag {tag_id}."),
            required("status", ""),
            status(
                &["available", "deleted"],
                "Improper status \"{value}\" for differentiation tag {tag_id}.",
            ),
            // A new tag needs a set or a course; an update of an existing one does not.
            warning(one_of(&["tag_set_id", "course_id"], "")),
            reference(
                "tag_set_id",
                "differentiation_tag_sets",
                "tag_set_id",
                "Differentiation Tag Set {value} didn't exist for differentiation tag {tag_id}.",
            ),
            reference(
                "course_id",
                "courses",
                "course_id",
                "Course with sis id {value} didn't exist for differentiation tag {tag_id}.",
            ),
            repeated(
                "tag_id",
                "Canvas applies the later row over the earlier one",
            ),
        ],
    )
}

fn differentiation_tag_memberships() -> Kind {
    kind(
        "differentiation_tag_memberships",
        Detect::all(&["tag_id", "user_id"]),
        &["tag_id", "user_id", "status"],
        vec![
            required("tag_id", "No tag_id given for a differentiation tag user"),
            required("user_id", "No user_id given for a differentiation tag user"),
            required("status", ""),
            status(
                &["accepted", "deleted"],
                "Improper status \"{value}\" for a differentiation tag user",
            ),
            reference("tag_id", "differentiation_tags", "tag_id", ""),
            reference("user_id", "users", "user_id", ""),
        ],
    )
}

fn user_observers() -> Kind {
    kind(
        "user_observers",
        Detect::all(&["observer_id", "student_id"]),
        &["observer_id", "student_id", "status"],
        vec![
            required("observer_id", "No observer_id given for a user observer"),
            required("student_id", "No user_id given for a user observer"),
            different(
                "observer_id",
                "student_id",
                "Can't observe yourself user {observer_id}",
            ),
            required("status", ""),
            // `\A(active|deleted)\z`, case-insensitive: whole value.
            enumeration(
                "status",
                ACTIVE_DELETED,
                Matching::IgnoreCase,
                "Improper status \"{value}\" for a user_observer",
            ),
            reference(
                "observer_id",
                "users",
                "user_id",
                "An observer referenced a non-existent user {value}",
            ),
            reference(
                "student_id",
                "users",
                "user_id",
                "A student referenced a non-existent user {value}",
            ),
        ],
    )
}

fn institutional_tag_categories() -> Kind {
    kind(
        "institutional_tag_categories",
        Detect::all(&["category_id", "name"]).none(&["tag_id", "institutional_tag_id"]),
        &["category_id", "name", "description", "status"],
        vec![
            required("category_id", ""),
            required("name", ""),
            required("description", ""),
            required("status", ""),
            status(ACTIVE_DELETED, ""),
            max_length("name", 255, ""),
            max_length("description", 500, ""),
            max_length("category_id", 255, ""),
        ],
    )
}

fn institutional_tags() -> Kind {
    kind(
        "institutional_tags",
        Detect::all(&["institutional_tag_id", "category_id", "name"]),
        &[
            "institutional_tag_id",
            "category_id",
            "name",
            "description",
            "status",
        ],
        vec![
            required("institutional_tag_id", ""),
            required("category_id", ""),
            required("name", ""),
            required("description", ""),
            required("status", ""),
            status(ACTIVE_DELETED, ""),
            max_length("name", 255, ""),
            max_length("description", 500, ""),
            max_length("institutional_tag_id", 255, ""),
            reference(
                "category_id",
                "institutional_tag_categories",
                "category_id",
                "",
            ),
        ],
    )
}

fn institutional_tag_associations() -> Kind {
    kind(
        "institutional_tag_associations",
        Detect::all(&["institutional_tag_id", "user_id"]),
        &["institutional_tag_id", "user_id", "status"],
        vec![
            required("institutional_tag_id", ""),
            required("user_id", ""),
            required("status", ""),
            status(ACTIVE_DELETED, ""),
            reference(
                "institutional_tag_id",
                "institutional_tags",
                "institutional_tag_id",
                "",
            ),
            reference("user_id", "users", "user_id", ""),
        ],
    )
}
