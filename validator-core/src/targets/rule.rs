//! Short constructors so target tables read like tables.

use crate::report::Severity;
use crate::schema::{Check, Condition, Matching, Rule};

pub(super) fn required(column: &str, platform: &str) -> Rule {
    Rule::new(Check::Required {
        column: column.into(),
    })
    .platform_opt(platform)
}

pub(super) fn one_of(columns: &[&str], platform: &str) -> Rule {
    Rule::new(Check::OneOf {
        columns: crate::schema::strings(columns),
    })
    .platform_opt(platform)
}

pub(super) fn enumeration(
    column: &str,
    values: &[&str],
    matching: Matching,
    platform: &str,
) -> Rule {
    Rule::new(Check::Enum {
        column: column.into(),
        values: crate::schema::strings(values),
        matching,
        blank_invalid: false,
        separator: None,
    })
    .platform_opt(platform)
}

/// Canvas's status checks: `/\A(active|deleted)/i`.
pub(super) fn status(values: &[&str], platform: &str) -> Rule {
    enumeration("status", values, Matching::IgnoreCasePrefix, platform)
}

pub(super) fn date(column: &str, platform: &str) -> Rule {
    Rule::new(Check::Date {
        column: column.into(),
        allow_delete: false,
        form: crate::schema::DateForm::Lenient,
    })
    .platform_opt(platform)
}

pub(super) fn boolean(column: &str) -> Rule {
    Rule::new(Check::Boolean {
        column: column.into(),
    })
}

pub(super) fn integer(column: &str, platform: &str) -> Rule {
    Rule::new(Check::Integer {
        column: column.into(),
    })
    .platform_opt(platform)
}

pub(super) fn email(column: &str, platform: &str) -> Rule {
    Rule::new(Check::Email {
        column: column.into(),
    })
    .platform_opt(platform)
}

pub(super) fn max_length(column: &str, max: usize, platform: &str) -> Rule {
    Rule::new(Check::MaxLength {
        column: column.into(),
        max,
    })
    .platform_opt(platform)
}

pub(super) fn no_control(column: &str, platform: &str) -> Rule {
    Rule::new(Check::NoControlChars {
        column: column.into(),
    })
    .platform_opt(platform)
}

pub(super) fn exclusive(columns: &[&str], platform: &str) -> Rule {
    Rule::new(Check::Exclusive {
        columns: crate::schema::strings(columns),
    })
    .platform_opt(platform)
}

pub(super) fn different(a: &str, b: &str, platform: &str) -> Rule {
    Rule::new(Check::Different {
        columns: vec![a.into(), b.into()],
    })
    .platform_opt(platform)
}

/// A repeated id: a warning that says what the server does with it.
pub(super) fn repeated(column: &str, consequence: &str) -> Rule {
    Rule::new(Check::Unique {
        columns: vec![column.into()],
        owner: None,
        ignore_case: false,
    })
    .message(&format!(
        "{column} `{{value}}` is repeated in this upload; {consequence}"
    ))
}

/// A key that only one owner may claim: an error on the later row.
pub(super) fn claimed(columns: &[&str], owner: &str, ignore_case: bool, platform: &str) -> Rule {
    Rule::new(Check::Unique {
        columns: crate::schema::strings(columns),
        owner: Some(owner.into()),
        ignore_case,
    })
    .platform_opt(platform)
}

pub(super) fn reference(column: &str, kind: &str, key: &str, platform: &str) -> Rule {
    Rule::new(Check::Reference {
        column: column.into(),
        kind: kind.into(),
        key: key.into(),
        ordered: false,
        separator: None,
    })
    .platform_opt(platform)
}

pub(super) fn when_blank(column: &str) -> Condition {
    Condition::Blank {
        column: column.into(),
    }
}

pub(super) fn when_one_of(column: &str, values: &[&str]) -> Condition {
    Condition::OneOf {
        column: column.into(),
        values: crate::schema::strings(values),
    }
}

pub(super) fn warning(rule: Rule) -> Rule {
    rule.severity(Severity::Warning)
}

trait PlatformOpt {
    fn platform_opt(self, p: &str) -> Self;
}

impl PlatformOpt for Rule {
    fn platform_opt(self, p: &str) -> Rule {
        if p.is_empty() { self } else { self.platform(p) }
    }
}

/// The whole value of `column` is one of `values` (exactly, or ignoring case).
pub(super) fn when_is(column: &str, values: &[&str], ignore_case: bool) -> Condition {
    Condition::Equals {
        column: column.into(),
        values: crate::schema::strings(values),
        ignore_case,
    }
}
