//! Targets as data: a platform is a table of file kinds, each with a header predicate,
//! its columns and its rules. The validator loop never branches on a platform.
//!
//! These types are (de)serialisable, so a target can also come from a file.
//!
//! ```
//! use validator_core::schema::{Check, Detect, Kind, Rule, Target};
//! let mut t = Target::new("tiny");
//! t.kinds.push(Kind {
//!     detect: Detect::all(&["id", "name"]),
//!     rules: vec![Rule::new(Check::Required { column: "id".into() })],
//!     ..Kind::new("things", &["id", "name"])
//! });
//! assert!(validator_core::Session::new(t).is_ok());
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::Severity;

/// A platform (or an institution's own format): its file kinds in processing order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Short name, e.g. `canvas`.
    pub name: String,
    /// Display name in messages, e.g. `Canvas` (defaults to `name`).
    #[serde(default)]
    pub title: String,
    /// One line for `preflight targets`.
    #[serde(default)]
    pub description: String,
    /// How header cells are matched to column names.
    #[serde(default)]
    pub header: HeaderRules,
    /// The only delimiter the platform reads, if it insists on one.
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Whether cell values are whitespace-trimmed before checks (Canvas strips every field).
    #[serde(default = "yes")]
    pub trim_values: bool,
    /// The platform reads only UTF-8 (UTF-16 input is an error, not just decoded).
    #[serde(default = "yes")]
    pub require_utf8: bool,
    /// How a UTF-8 byte-order mark is rated (Canvas strips it; Sunbird wants it gone).
    #[serde(default = "info")]
    pub bom_severity: Severity,
    /// The platform's own wording for generic findings, by finding code
    /// (e.g. `csv.unclosed_quote` → `Malformed CSV`).
    #[serde(default)]
    pub platform_messages: BTreeMap<String, String>,
    /// Largest file the platform accepts, in bytes (`file.too_large`).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
    /// Most data rows per file the platform accepts (`file.too_many_rows`).
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// At most one file of each kind per bundle (`bundle.duplicate_kind` on the second).
    #[serde(default)]
    pub one_file_per_kind: bool,
    /// Files must carry their kind's file name (`file.name`).
    #[serde(default)]
    pub fixed_file_names: bool,
    /// A header error fails the whole upload before any row is read, so rows are not
    /// checked (Sunbird).
    #[serde(default)]
    pub header_errors_reject_file: bool,
    /// Appended to `detect.unknown_kind` messages, e.g. how to obtain the headers of kinds
    /// whose headers are not public.
    #[serde(default)]
    pub unknown_kind_hint: String,
    /// A manifest file declaring each data file's mode (OneRoster's `manifest.csv`).
    #[serde(default)]
    pub manifest: Option<Manifest>,
    /// Every value should be double-quoted (Encoura's text qualifier): `csv.unquoted`.
    #[serde(default)]
    pub require_quoted: bool,
    /// A data file must have at least one data row (`file.no_rows`).
    #[serde(default)]
    pub require_rows: bool,
    /// How `preflight bundle` writes what the platform accepts.
    #[serde(default)]
    pub bundle: BundleRules,
    /// Lines whose cells are all blank are skipped before the header too, so the header is
    /// the first line with a value (Sunbird's reader); otherwise such a line is the header.
    #[serde(default)]
    pub skip_blank_lines_before_header: bool,
    /// A CR or LF inside a field is an error (`csv.line_break_in_field`): OneRoster's CSV
    /// binding forbids them, even quoted.
    #[serde(default)]
    pub forbid_line_breaks_in_fields: bool,
    /// File kinds, in the platform's detection and processing order.
    pub kinds: Vec<Kind>,
    /// How the platform's CSV parser reads bytes into rows and cells, where it differs from
    /// the lenient default (Canvas: Ruby's CSV).
    #[serde(default)]
    pub dialect: Dialect,
}

/// A manifest kind: rows `prefix<file stem>` → mode (`file.users,bulk`). Data files must be
/// declared with a mode other than `absent`, and declared files must be present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest's kind.
    pub kind: String,
    /// Column holding property names.
    pub key: String,
    /// Column holding values.
    pub value: String,
    /// Prefix of file properties, e.g. `file.`.
    pub prefix: String,
    /// Properties the manifest must list (`manifest.missing_property`), e.g.
    /// `oneroster.version`.
    #[serde(default)]
    pub required: Vec<String>,
}

/// What a bundle for this platform looks like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRules {
    /// A ZIP of CSV files, or a single CSV per upload.
    #[serde(default)]
    pub format: BundleFormat,
    /// Line ending written.
    #[serde(default)]
    pub line_ending: LineEndingStyle,
    /// Write a UTF-8 byte-order mark.
    #[serde(default)]
    pub bom: bool,
    /// Quote every value (Encoura asks for double quotes as text qualifier).
    #[serde(default)]
    pub quote_all: bool,
}

impl Default for BundleRules {
    fn default() -> Self {
        BundleRules {
            format: BundleFormat::Zip,
            line_ending: LineEndingStyle::Lf,
            bom: false,
            quote_all: false,
        }
    }
}

/// Container of a bundle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleFormat {
    /// A ZIP of CSV files in processing order.
    #[default]
    Zip,
    /// One CSV file per upload.
    Csv,
}

/// Line endings written by the bundler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineEndingStyle {
    /// `\n`
    #[default]
    Lf,
    /// `\r\n`
    Crlf,
}

fn yes() -> bool {
    true
}

fn info() -> Severity {
    Severity::Info
}

impl Target {
    /// An empty target with default header rules.
    pub fn new(name: &str) -> Target {
        Target {
            name: name.to_owned(),
            title: String::new(),
            description: String::new(),
            header: HeaderRules::default(),
            delimiter: None,
            trim_values: true,
            require_utf8: true,
            bom_severity: Severity::Info,
            platform_messages: BTreeMap::new(),
            max_file_bytes: None,
            max_rows: None,
            one_file_per_kind: false,
            fixed_file_names: false,
            unknown_kind_hint: String::new(),
            header_errors_reject_file: false,
            manifest: None,
            require_quoted: false,
            require_rows: false,
            bundle: BundleRules::default(),
            skip_blank_lines_before_header: false,
            forbid_line_breaks_in_fields: false,
            kinds: Vec::new(),
            dialect: Dialect::default(),
        }
    }

    /// The name to use in messages.
    pub fn title(&self) -> &str {
        if self.title.is_empty() {
            &self.name
        } else {
            &self.title
        }
    }

    /// Looks up a kind by name.
    pub fn kind(&self, name: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.name == name)
    }
}

/// How header cells are read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeaderRules {
    /// Header names are compared case-insensitively (Canvas lower-cases them).
    #[serde(default = "yes")]
    pub case_insensitive: bool,
    /// Detection trims header cells.
    #[serde(default = "yes")]
    pub trim_for_detection: bool,
    /// Columns are read by their trimmed name. Canvas detects with trimmed names but reads
    /// rows by the untrimmed one, so ` status` is detected yet read as missing.
    #[serde(default = "yes")]
    pub trim_for_reading: bool,
    /// What trimming a header cell means.
    #[serde(default)]
    pub trim: HeaderTrim,
}

/// How header cells are trimmed where the rules say they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderTrim {
    /// Unicode whitespace at both ends.
    #[default]
    Unicode,
    /// Canvas's converter, which its detection pass applies to the header row too: Ruby's
    /// `strip` (ASCII whitespace and NUL, not NBSP), then a cell of only Unicode
    /// whitespace is blank (`presence`).
    RubyStripPresence,
}

impl Default for HeaderRules {
    fn default() -> Self {
        HeaderRules {
            case_insensitive: true,
            trim_for_detection: true,
            trim_for_reading: true,
            trim: HeaderTrim::Unicode,
        }
    }
}

/// One kind of file (users, enrollments, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kind {
    /// The platform's name for it (for Canvas, its `data.counts` key).
    pub name: String,
    /// Canonical file name when bundling.
    #[serde(default)]
    pub file_name: String,
    /// Header predicate.
    pub detect: Detect,
    /// Every column the platform reads for this kind (others are ignored).
    pub columns: Vec<String>,
    /// Row and bundle rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Columns that must be in the header, even when their values may be blank
    /// (`header.missing_column`).
    #[serde(default)]
    pub required_columns: Vec<String>,
    /// How a column the kind does not read is rated (`header.unknown`): Canvas ignores it
    /// (info); Sunbird rejects the whole file (error).
    #[serde(default = "info")]
    pub unknown_columns: Severity,
    /// Other header names accepted for a column (Sunbird's display headers): alias → column.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Columns must appear in the order of `columns` (`header.order`, OneRoster).
    #[serde(default)]
    pub ordered_columns: bool,
    /// Header cells must match the column names' case exactly (`header.case`), even when
    /// the target's headers are otherwise case-insensitive (Sunbird locations).
    #[serde(default)]
    pub case_sensitive_header: bool,
    /// A value the host supplies for files of this kind (Sunbird's location `type`).
    #[serde(default)]
    pub parameter: Option<Parameter>,
    /// The platform's wording for this kind's header findings, by code; `{column}` and
    /// `{value}` are filled in.
    #[serde(default)]
    pub platform_messages: BTreeMap<String, String>,
    /// A file at this path (relative, `/`-separated; matched whole or at a `/` boundary
    /// either way) is of this kind whatever its header: a Data Package resource's `path`;
    /// `*` binds every file (a bare Table Schema).
    #[serde(default)]
    pub path: Option<String>,
    /// Columns are read by position and the header is compared label by label, as
    /// Frictionless reads a table (see [`Positional`]).
    #[serde(default)]
    pub positional: Option<Positional>,
    /// The columns that identify a row on the platform, for `diff` (Canvas's importers'
    /// `identifying_fields`, OneRoster's `sourcedId`, a Table Schema's `primaryKey`). Empty:
    /// the whole row is its identity, so a row can be added or removed but not changed.
    #[serde(default)]
    pub identity: Vec<String>,
    /// Columns whose case the platform ignores (Watermark's `person_id` and `product`):
    /// `diff` compares them case-folded.
    #[serde(default)]
    pub case_insensitive: Vec<String>,
}

/// How a kind read by position lays out its file (a Table Schema's dialect).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positional {
    /// The first row is a header (`dialect.header`); false: every row is data.
    #[serde(default = "yes")]
    pub header: bool,
    /// The delimiter the file must use (`dialect.delimiter`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Cells read as null (`missingValues`): a row of them only is a blank row.
    #[serde(default = "blank_only")]
    pub missing_values: Vec<String>,
}

fn blank_only() -> Vec<String> {
    vec![String::new()]
}

/// A value supplied by the host (command-line flag or profile) rather than the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Name, e.g. `location_type`.
    pub name: String,
    /// Accepted values.
    pub values: Vec<String>,
    /// How a missing value is rated (`param.missing`). An error by default; Sunbird's
    /// location type is a warning, as only the upload needs it (`submit` still refuses),
    /// and the rows are checked either way.
    #[serde(default = "error")]
    pub when_missing: Severity,
}

fn error() -> Severity {
    Severity::Error
}

impl Kind {
    /// A kind with the given columns, no predicate and no rules.
    pub fn new(name: &str, columns: &[&str]) -> Kind {
        Kind {
            name: name.to_owned(),
            file_name: format!("{name}.csv"),
            detect: Detect::default(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rules: Vec::new(),
            required_columns: Vec::new(),
            unknown_columns: Severity::Info,
            aliases: BTreeMap::new(),
            ordered_columns: false,
            case_sensitive_header: false,
            parameter: None,
            platform_messages: BTreeMap::new(),
            path: None,
            positional: None,
            identity: Vec::new(),
            case_insensitive: Vec::new(),
        }
    }

    /// The column a header name stands for (itself, or the column it is an alias of).
    pub fn canonical<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map_or(name, |(_, col)| col.as_str())
    }
}

/// Header predicate: all of `all`, at least one of each `any` group, none of `none`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Detect {
    /// Columns that must all be present.
    #[serde(default)]
    pub all: Vec<String>,
    /// Groups of which at least one column each must be present.
    #[serde(default)]
    pub any: Vec<Vec<String>>,
    /// Columns that must be absent.
    #[serde(default)]
    pub none: Vec<String>,
    /// No other column may be present ("any and only expected fields", Watermark).
    #[serde(default)]
    pub only: bool,
}

impl Detect {
    /// Predicate requiring all of `cols`.
    pub fn all(cols: &[&str]) -> Detect {
        Detect {
            all: strings(cols),
            ..Detect::default()
        }
    }

    /// Adds a group of which one column must be present.
    pub fn any(mut self, cols: &[&str]) -> Detect {
        self.any.push(strings(cols));
        self
    }

    /// Adds columns that must be absent.
    pub fn none(mut self, cols: &[&str]) -> Detect {
        self.none.extend(strings(cols));
        self
    }
}

pub(crate) fn strings(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| (*c).to_owned()).collect()
}

/// A rule: a check plus how to word and rate its findings.
///
/// Messages are templates: `{column}` is the column name, `{value}` the offending value, and
/// `{<name>}` the (trimmed) value of that column in the same row, e.g.
/// `No name given for term {term_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// What is checked.
    #[serde(flatten)]
    pub check: Check,
    /// Overrides the check's default severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The rule applies only to rows meeting this condition.
    #[serde(default)]
    pub when: Option<Condition>,
    /// Overrides our message.
    #[serde(default)]
    pub message: Option<String>,
    /// The platform's own message.
    #[serde(default)]
    pub platform_message: Option<String>,
}

impl Rule {
    /// A rule with default severity and messages.
    pub fn new(check: Check) -> Rule {
        Rule {
            check,
            severity: None,
            when: None,
            message: None,
            platform_message: None,
        }
    }

    /// Sets the platform's message template.
    pub fn platform(mut self, msg: &str) -> Rule {
        self.platform_message = Some(msg.to_owned());
        self
    }

    /// Sets our message template.
    pub fn message(mut self, msg: &str) -> Rule {
        self.message = Some(msg.to_owned());
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, s: Severity) -> Rule {
        self.severity = Some(s);
        self
    }

    /// Restricts the rule to rows meeting `c`.
    pub fn when(mut self, c: Condition) -> Rule {
        self.when = Some(c);
        self
    }
}

/// A row condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum Condition {
    /// The column is absent or blank.
    Blank {
        /// Column name.
        column: String,
    },
    /// The column has a non-blank value.
    NotBlank {
        /// Column name.
        column: String,
    },
    /// The value matches one of `values` (case-insensitive prefix, like Canvas's regexes).
    OneOf {
        /// Column name.
        column: String,
        /// Accepted values.
        values: Vec<String>,
    },
    /// The value starts with `prefix` (exactly).
    Prefix {
        /// Column name.
        column: String,
        /// The prefix.
        prefix: String,
    },
    /// A host parameter (see [`Kind::parameter`]) is one of `values` (case-insensitive).
    Param {
        /// Parameter name, e.g. `location_type`.
        name: String,
        /// Accepted values.
        values: Vec<String>,
    },
    /// The file's mode declared in the manifest ([`Target::manifest`]) is one of `values`.
    Mode {
        /// Modes, e.g. `bulk`.
        values: Vec<String>,
    },
    /// The whole value is one of `values` (exactly, or ignoring case), unlike
    /// [`Condition::OneOf`]'s prefix match.
    Equals {
        /// Column name.
        column: String,
        /// Values.
        values: Vec<String>,
        /// Compare ignoring case.
        #[serde(default)]
        ignore_case: bool,
    },
}

/// The forms a date column accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateForm {
    /// ISO 8601 date or date-time; a parseable non-ISO value is a warning (Canvas).
    #[default]
    Lenient,
    /// Exactly `YYYY-MM-DD` (OneRoster dates).
    Date,
    /// An ISO 8601 date-time with a time (OneRoster `dateLastModified`).
    DateTime,
}

/// How enum values are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matching {
    /// Byte-exact.
    Exact,
    /// Case-insensitive, whole value.
    #[default]
    IgnoreCase,
    /// Case-insensitive prefix (`\A(active|deleted)` with `/i`): `activeX` passes.
    IgnoreCasePrefix,
}

/// The checks the validator knows. Column names refer to [`Kind::columns`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// The value must not be blank (`row.required`).
    Required {
        /// Column name.
        column: String,
    },
    /// At least one of the columns must have a value (`row.one_of`).
    OneOf {
        /// Column names.
        columns: Vec<String>,
    },
    /// The value must be one of `values` (`row.enum`). Blank passes unless `blank_invalid`.
    Enum {
        /// Column name.
        column: String,
        /// Accepted values.
        values: Vec<String>,
        /// Comparison.
        #[serde(default)]
        matching: Matching,
        /// A blank value is reported as invalid rather than skipped.
        #[serde(default)]
        blank_invalid: bool,
        /// The cell holds a list with this separator; each item must be valid.
        #[serde(default)]
        separator: Option<char>,
    },
    /// A date or timestamp (`row.date`; `row.date_lenient` when parseable but not ISO 8601).
    Date {
        /// Column name.
        column: String,
        /// `<delete>` is accepted (it clears the date).
        #[serde(default)]
        allow_delete: bool,
        /// Which forms are accepted.
        #[serde(default)]
        form: DateForm,
    },
    /// A boolean: true/false, 1/0, yes/no, on/off, t/f (`row.boolean`).
    Boolean {
        /// Column name.
        column: String,
    },
    /// An integer (`row.integer`).
    Integer {
        /// Column name.
        column: String,
    },
    /// An e-mail address (`row.email`).
    Email {
        /// Column name.
        column: String,
    },
    /// The value must be blank (`row.must_be_blank`), e.g. `status` in a OneRoster bulk file.
    Blank {
        /// Column name.
        column: String,
    },
    /// At most `max` characters (`row.too_long`).
    MaxLength {
        /// Column name.
        column: String,
        /// Maximum length in characters.
        max: usize,
    },
    /// No control characters (`row.control_char`).
    NoControlChars {
        /// Column name.
        column: String,
    },
    /// At most one of the columns may have a value (`row.exclusive`).
    Exclusive {
        /// Column names.
        columns: Vec<String>,
    },
    /// The two columns must differ when both are set (`row.same_value`).
    Different {
        /// Exactly two column names.
        columns: Vec<String>,
    },
    /// The combination of `columns` appears once in the bundle (`dup.repeated_id`), or, with
    /// `owner`, is claimed by one owner only (`dup.conflict`).
    Unique {
        /// Key columns (all blank: skipped).
        columns: Vec<String>,
        /// Owner column: a repeat with the same owner passes; another owner is a conflict.
        #[serde(default)]
        owner: Option<String>,
        /// Keys compare case-insensitively.
        #[serde(default)]
        ignore_case: bool,
    },
    /// The value must be defined as `key` of kind `kind` somewhere in the bundle
    /// (`ref.missing`). With `ordered`, a definition later in the same kind is an error
    /// (`ref.defined_later`).
    Reference {
        /// Column holding the reference.
        column: String,
        /// Referenced kind.
        kind: String,
        /// Key column of the referenced kind.
        key: String,
        /// The referenced row must come first (parent accounts before children).
        #[serde(default)]
        ordered: bool,
        /// The cell holds a list of references with this separator.
        #[serde(default)]
        separator: Option<char>,
    },
    /// When `column` and `equals` are both set and `kind` defines `column`'s value, its
    /// `attribute` must equal this row's `equals` (`ref.inconsistent`).
    Consistent {
        /// Column holding the reference.
        column: String,
        /// Referenced kind.
        kind: String,
        /// Key column of the referenced kind.
        key: String,
        /// Column of the referenced kind to compare.
        attribute: String,
        /// Column of this row that must match it.
        equals: String,
    },
    /// The values allowed in `column` depend on the value of `by` (`row.enum_by`): `values`
    /// maps a `by` value (compared ignoring case) to the accepted values, e.g. the roles of
    /// each product. Rows whose `by` is blank or not a key are skipped (`by`'s own rules
    /// report it); a blank `column` passes.
    EnumBy {
        /// Column name.
        column: String,
        /// Column whose value selects the list.
        by: String,
        /// `by` value → accepted values.
        values: BTreeMap<String, Vec<String>>,
        /// Comparison of `column`'s values.
        #[serde(default)]
        matching: Matching,
        /// The cell holds a list with this separator; each item must be valid.
        #[serde(default)]
        separator: Option<char>,
    },
    /// The cell, a list with `separator`, has at most `max` non-blank items
    /// (`row.too_many_items`), e.g. one SLL role per user.
    MaxItems {
        /// Column name.
        column: String,
        /// List separator.
        separator: char,
        /// Most items allowed.
        max: usize,
    },
    /// When the row of `kind` whose `key` is this value is in the bundle, its `attribute`
    /// must be one of `values` (`ref.wrong_type`), e.g. a class's school must be an org of
    /// type `school`. A reference not in the bundle is [`Check::Reference`]'s business.
    ReferenceWhere {
        /// Column holding the reference.
        column: String,
        /// Referenced kind.
        kind: String,
        /// Key column of the referenced kind.
        key: String,
        /// Column of the referenced kind to test.
        attribute: String,
        /// Accepted values of `attribute` (exact).
        values: Vec<String>,
        /// The cell holds a list of references with this separator.
        #[serde(default)]
        separator: Option<char>,
    },
    /// A Table Schema field: its type and format (`row.type`) and its constraints
    /// (`row.required`, `row.too_short`, `row.too_long`, `row.range`, `row.pattern`,
    /// `row.enum`), on typed values; a missing cell is null.
    Field {
        /// Column name.
        column: String,
        /// The field.
        field: Box<crate::tableschema::Field>,
    },
    /// The typed values of `columns` appear once per file kind: a `unique` field or a
    /// `uniqueKeys` entry (`dup.repeated_id`; all null: skipped), or with `primary` the
    /// primary key (`dup.primary_key`; all null is an error too).
    TypedUnique {
        /// Key columns.
        columns: Vec<String>,
        /// Their fields (types), in the same order.
        fields: Vec<crate::tableschema::Field>,
        /// This is the primary key.
        #[serde(default)]
        primary: bool,
    },
    /// A Table Schema foreign key: the typed values of `columns` (unless all null) must be
    /// the values of `keys` in some row of `kind` (`ref.missing`), in any file of the
    /// bundle, before or after.
    ForeignKey {
        /// Columns of this kind.
        columns: Vec<String>,
        /// Their fields.
        fields: Vec<crate::tableschema::Field>,
        /// Referenced kind (may be this one).
        kind: String,
        /// Referenced columns.
        keys: Vec<String>,
        /// Their fields.
        key_fields: Vec<crate::tableschema::Field>,
    },
}

impl Check {
    /// The finding code this check emits.
    pub fn code(&self) -> &'static str {
        match self {
            Check::Required { .. } => "row.required",
            Check::OneOf { .. } => "row.one_of",
            Check::Enum { .. } => "row.enum",
            Check::Date { .. } => "row.date",
            Check::Boolean { .. } => "row.boolean",
            Check::Integer { .. } => "row.integer",
            Check::Email { .. } => "row.email",
            Check::Blank { .. } => "row.must_be_blank",
            Check::MaxLength { .. } => "row.too_long",
            Check::NoControlChars { .. } => "row.control_char",
            Check::Exclusive { .. } => "row.exclusive",
            Check::Different { .. } => "row.same_value",
            Check::Unique { owner: None, .. } => "dup.repeated_id",
            Check::Unique { .. } => "dup.conflict",
            Check::Reference { .. } => "ref.missing",
            Check::Consistent { .. } => "ref.inconsistent",
            Check::EnumBy { .. } => "row.enum_by",
            Check::MaxItems { .. } => "row.too_many_items",
            Check::ReferenceWhere { .. } => "ref.wrong_type",
            Check::Field { .. } => "row.type",
            Check::TypedUnique { primary: true, .. } => "dup.primary_key",
            Check::TypedUnique { .. } => "dup.repeated_id",
            Check::ForeignKey { .. } => "ref.missing",
        }
    }

    /// Severity when the rule does not say.
    pub fn default_severity(&self) -> Severity {
        match self {
            Check::Boolean { .. } | Check::Reference { .. } => Severity::Warning,
            Check::Unique { owner: None, .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Every column this check reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Check::Required { column }
            | Check::Enum { column, .. }
            | Check::Date { column, .. }
            | Check::Boolean { column }
            | Check::Integer { column }
            | Check::Email { column }
            | Check::Blank { column }
            | Check::MaxLength { column, .. }
            | Check::NoControlChars { column }
            | Check::Reference { column, .. }
            | Check::MaxItems { column, .. }
            | Check::ReferenceWhere { column, .. } => vec![column],
            Check::EnumBy { column, by, .. } => vec![column, by],
            Check::OneOf { columns }
            | Check::Exclusive { columns }
            | Check::Different { columns } => columns.iter().map(String::as_str).collect(),
            Check::Unique { columns, owner, .. } => columns
                .iter()
                .map(String::as_str)
                .chain(owner.as_deref())
                .collect(),
            Check::Consistent { column, equals, .. } => vec![column, equals],
            Check::Field { column, .. } => vec![column],
            Check::TypedUnique { columns, .. } | Check::ForeignKey { columns, .. } => {
                columns.iter().map(String::as_str).collect()
            }
        }
    }
}

/// The platform parser's reading rules. The default is the lenient reader every target had
/// before; Canvas sets all of them to Ruby's CSV with its `strip` + `presence` converter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialect {
    /// Which line breaks end a row.
    #[serde(default)]
    pub row_separator: RowSeparator,
    /// Only one UTF-8 BOM is stripped (Ruby's `bom|utf-8`): a second one is text in the
    /// first header cell. Otherwise the reader drops a second BOM too.
    #[serde(default)]
    pub one_bom: bool,
    /// What a cell's value is before any check.
    #[serde(default)]
    pub cells: CellConverter,
    /// How an empty file (no header row: no bytes, only a BOM or only blank lines) is rated
    /// (`csv.empty_file`). Canvas reads no row and reports nothing: a warning.
    #[serde(default = "error")]
    pub empty_file: Severity,
    /// Which cells decide that a row is blank (and skipped).
    #[serde(default)]
    pub blank_row: BlankRow,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            row_separator: RowSeparator::default(),
            one_bom: false,
            cells: CellConverter::default(),
            empty_file: Severity::Error,
            blank_row: BlankRow::AllCells,
        }
    }
}

/// Which line breaks end a row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowSeparator {
    /// LF, CRLF or CR, mixed freely.
    #[default]
    Any,
    /// Ruby's CSV (`row_sep: :auto`): the file's first CR, LF or CRLF, even one inside a
    /// quoted field, is the row separator; any other line break outside quotes is
    /// malformed (`csv.row_separator`).
    FirstInFile,
}

/// Which cells decide that a row is blank.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlankRow {
    /// Every cell is blank.
    #[default]
    AllCells,
    /// Canvas's `row.to_hash.values.all?(&:nil?)`: Ruby's `CSV::Row#to_hash` keeps one
    /// value per distinct header name, the first, and one for all cells without a name
    /// (blank header cells and cells past the header), the first of them. A row whose
    /// only value sits under a repeated header name is skipped.
    FirstOfEachHeader,
}

/// How a cell's text becomes its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellConverter {
    /// Values are stripped of ASCII whitespace and NUL when the target trims values; a NUL
    /// anywhere in the row's bytes is `row.nul`; header cells are trimmed of Unicode
    /// whitespace for detection.
    #[default]
    Default,
    /// Canvas's `field&.strip&.presence`: Ruby's `String#strip` (ASCII whitespace and NUL)
    /// on every cell, header cells too, then a value of only Unicode whitespace (NBSP,
    /// U+3000, ...) is blank (ActiveSupport's `blank?`). `row.nul` only for a NUL left
    /// inside a value after that.
    RubyStripPresence,
}
