//! File-kind detection by header, as the platform does it, plus the diagnoses the platform
//! does not give: the closest kind when nothing matches, and first-match traps.
//!
//! ```
//! use validator_core::{detect, targets};
//! let canvas = targets::canvas();
//! let kind = detect::detect_kind(&canvas, &["Section_ID", "course_id", "name", "status"]);
//! assert_eq!(kind.map(|k| k.name.as_str()), Some("sections"));
//! ```

use crate::keys::FixedSet;

use crate::schema::{HeaderRules, Kind, Target};

/// Normalises a header cell for detection (trim, case) as the target says.
pub fn detection_name(rules: &HeaderRules, cell: &str) -> String {
    let c = if rules.trim_for_detection {
        trim(rules, cell)
    } else {
        cell
    };
    if rules.case_insensitive {
        c.to_lowercase()
    } else {
        c.to_owned()
    }
}

fn trim<'a>(rules: &HeaderRules, cell: &'a str) -> &'a str {
    match rules.trim {
        crate::schema::HeaderTrim::Unicode => cell.trim(),
        crate::schema::HeaderTrim::RubyStripPresence => {
            crate::parse::convert(crate::schema::CellConverter::RubyStripPresence, true, cell)
        }
    }
}

/// Normalises a header cell for reading a column, as the target says.
pub fn reading_name(rules: &HeaderRules, cell: &str) -> String {
    let c = if rules.trim_for_reading {
        trim(rules, cell)
    } else {
        cell
    };
    if rules.case_insensitive {
        c.to_lowercase()
    } else {
        c.to_owned()
    }
}

/// The first kind (in the target's order) whose predicate the header meets.
pub fn detect_kind<'t>(target: &'t Target, header: &[&str]) -> Option<&'t Kind> {
    let names: Vec<String> = header
        .iter()
        .map(|c| detection_name(&target.header, c))
        .collect();
    first_match(target, &names).map(|i| &target.kinds[i])
}

/// The kind of a file from its first bytes (decoding, BOM and delimiter handled as in a
/// full check). Hosts use it to push files in processing order, which keeps pending
/// cross-file references few. `None` when the header is incomplete or matches no kind.
///
/// ```
/// let t = validator_core::targets::canvas();
/// let k = validator_core::detect::kind_of_prefix(&t, b"\xEF\xBB\xBFterm_id,name,status\nT1,");
/// assert_eq!(k.as_deref(), Some("terms"));
/// ```
pub fn kind_of_prefix(target: &Target, prefix: &[u8]) -> Option<String> {
    crate::Checker::new(target.clone())
        .ok()?
        .kind_of_prefix(prefix)
}

pub(crate) fn first_match(target: &Target, names: &[String]) -> Option<usize> {
    target
        .kinds
        .iter()
        .position(|k| meets(&target.header, k, names))
}

fn has(names: &[String], col: &str) -> bool {
    names.iter().any(|n| n == col)
}

/// Whether a header (detection names) meets a kind's predicate, aliases applied.
pub(crate) fn meets(rules: &HeaderRules, kind: &Kind, names: &[String]) -> bool {
    let d = &kind.detect;
    // Sets, so that a wide header costs linear time.
    let mapped: FixedSet<String> = names.iter().map(|n| canonical(rules, kind, n)).collect();
    let has = |c: &String| {
        let c = detection_name(rules, c);
        mapped.contains(&c)
    };
    let columns = kind_columns(rules, kind);
    d.all.iter().all(has)
        && d.any.iter().all(|g| g.iter().any(has))
        && !d.none.iter().any(has)
        && !(d.all.is_empty() && d.any.is_empty())
        && (!d.only
            || mapped
                .iter()
                .all(|n| n.is_empty() || columns.contains(n.as_str())))
}

/// A kind's columns as detection sees them.
fn kind_columns(rules: &HeaderRules, kind: &Kind) -> FixedSet<String> {
    kind.columns
        .iter()
        .map(|c| detection_name(rules, c))
        .collect()
}

/// A header name (already normalised) as the column it stands for, normalised.
pub(crate) fn canonical(rules: &HeaderRules, kind: &Kind, name: &str) -> String {
    let m = kind.canonical(name);
    if m == name {
        name.to_owned()
    } else {
        detection_name(rules, m)
    }
}

/// How many header columns a kind reads.
fn explained(rules: &HeaderRules, k: &Kind, names: &[String]) -> usize {
    let columns = kind_columns(rules, k);
    names
        .iter()
        .filter(|n| columns.contains(&canonical(rules, k, n)))
        .count()
}

/// A first-match trap: a later kind also matches, and either reads more of the header or
/// needs a column the detected kind ignores (an enrollments file with a `name` column is
/// read as sections, which ignores its `user_id`). Returns that kind's index.
pub(crate) fn trap(target: &Target, detected: usize, names: &[String]) -> Option<usize> {
    let kind = &target.kinds[detected];
    let mine = explained(&target.header, kind, names);
    let ignores_predicate_of = |other: &Kind| {
        let d = &other.detect;
        d.all
            .iter()
            .chain(d.any.iter().flatten())
            .any(|c| has(names, c) && !kind.columns.contains(c))
    };
    target
        .kinds
        .iter()
        .enumerate()
        .skip(detected + 1)
        .filter(|(_, k)| meets(&target.header, k, names))
        .map(|(i, k)| {
            (
                i,
                explained(&target.header, k, names),
                ignores_predicate_of(k),
            )
        })
        .filter(|&(_, n, ignored)| n > mine || (n == mine && ignored))
        .max_by_key(|&(i, n, _)| (n, std::cmp::Reverse(i)))
        .map(|(i, _, _)| i)
}

/// Letters and digits only, lower-cased: `Section ID` → `sectionid`.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A header cell that is probably a misspelling of `want`.
fn lookalike<'a>(names: &'a [String], want: &str) -> Option<&'a str> {
    let w = squash(want);
    let w_chars = w.chars().count();
    names
        .iter()
        // A cell much longer than any column name cannot be within 2 edits: skip it
        // before squashing, so a huge header cell costs nothing.
        .filter(|n| !n.is_empty() && n.as_str() != want && n.len() <= 4 * (want.len() + 2) + 64)
        .find(|n| {
            let s = squash(n);
            s == w
                || (w.len() >= 5
                    && s.chars().count().abs_diff(w_chars) <= 2
                    && edit_distance(&s, &w) <= 2)
        })
        .map(String::as_str)
}

/// Explains why no kind matched: the closest kind, lookalike columns and what is missing.
pub(crate) fn near_miss(target: &Target, names: &[String]) -> String {
    struct Fit<'a> {
        kind: &'a Kind,
        score: usize,
        lookalikes: Vec<(String, String)>,
        missing: Vec<String>,
        forbidden: Vec<String>,
        explained: usize,
    }
    let fits = target.kinds.iter().map(|k| {
        let mut fit = Fit {
            kind: k,
            score: 0,
            lookalikes: Vec::new(),
            missing: Vec::new(),
            forbidden: Vec::new(),
            explained: explained(&target.header, k, names),
        };
        let mapped: Vec<String> = names
            .iter()
            .map(|n| canonical(&target.header, k, n))
            .collect();
        let mut need = |shown: &[String]| {
            let group: Vec<String> = shown
                .iter()
                .map(|c| detection_name(&target.header, c))
                .collect();
            if group.iter().any(|c| has(&mapped, c)) {
                fit.score += 2;
            } else if let Some((found, want)) = shown
                .iter()
                .find_map(|c| lookalike(names, c).map(|f| (f.to_owned(), c.clone())))
            {
                fit.score += 1;
                fit.lookalikes.push((found, want));
            } else {
                fit.missing.push(
                    shown
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                );
            }
        };
        for c in &k.detect.all {
            need(std::slice::from_ref(c));
        }
        for g in &k.detect.any {
            need(g);
        }
        fit.forbidden = k
            .detect
            .none
            .iter()
            .filter(|c| has(names, c))
            .cloned()
            .collect();
        fit
    });
    let best = fits
        .filter(|f| f.score > 0)
        .max_by_key(|f| (f.score, f.explained, std::cmp::Reverse(f.missing.len())));
    let Some(f) = best else {
        return "no known column names; is this the right target?".to_owned();
    };
    let mut parts = vec![format!("closest kind: {}", f.kind.name)];
    // Any unknown header cell that looks like one of the kind's columns, not only those
    // the predicate needs.
    let norm = |c: &String| detection_name(&target.header, c);
    let mapped: Vec<String> = names
        .iter()
        .map(|n| canonical(&target.header, f.kind, n))
        .collect();
    let columns = kind_columns(&target.header, f.kind);
    let unknown: Vec<String> = names
        .iter()
        .zip(&mapped)
        .filter(|(_, m)| !columns.contains(m.as_str()))
        .map(|(n, _)| n.clone())
        .collect();
    let mut seen = Vec::new();
    for want in f.kind.columns.iter().filter(|c| !has(&mapped, &norm(c))) {
        if let Some(found) = lookalike(&unknown, want)
            && !seen.contains(&found)
        {
            seen.push(found);
            parts.push(format!("`{found}` looks like `{want}`"));
        }
    }
    for (found, want) in &f.lookalikes {
        if !seen.contains(&found.as_str()) {
            parts.push(format!("`{found}` looks like `{want}`"));
        }
    }
    if !f.missing.is_empty() {
        parts.push(format!("missing {}", f.missing.join(", ")));
    }
    for c in &f.forbidden {
        parts.push(format!("`{c}` must not be present for {}", f.kind.name));
    }
    if f.kind.detect.only {
        let extra: Vec<String> = names
            .iter()
            .filter(|n| !n.is_empty() && !f.kind.columns.iter().any(|c| c == f.kind.canonical(n)))
            .map(|n| format!("`{n}`"))
            .collect();
        if !extra.is_empty() {
            parts.push(format!("unexpected {}", extra.join(", ")));
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::canvas;

    fn names(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_lowercase()).collect()
    }

    #[test]
    fn near_miss_names_lookalikes_and_missing() {
        let t = canvas();
        let h = names(&["course_id", "sectionid", "student", "role", "status"]);
        assert_eq!(first_match(&t, &h), None);
        assert_eq!(
            near_miss(&t, &h),
            "closest kind: enrollments; `sectionid` looks like `section_id`; missing `user_id` or `user_integration_id`"
        );
    }

    #[test]
    fn traps() {
        let t = canvas();
        let h = names(&[
            "course_id",
            "section_id",
            "user_id",
            "role",
            "status",
            "name",
        ]);
        let k = first_match(&t, &h).unwrap();
        assert_eq!(t.kinds[k].name, "sections");
        assert_eq!(t.kinds[trap(&t, k, &h).unwrap()].name, "enrollments");
    }
}
