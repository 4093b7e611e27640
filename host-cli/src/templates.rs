//! `preflight target from-templates`: a Watermark target file from the institution's
//! official template CSVs (the vendor's template ZIP, or a folder of them).
//!
//! Template files are mapped to kinds by file name, case- and underscore-insensitive
//! (organizations, programs, terms, courses, sections or course_sections, people or
//! person, roles, enrollments, cohortenrollments, basicpersonattributes,
//! studenttermattributes, programcurriculum); `KIND=FILE` arguments override the mapping.
//! Only the header row of each template is read.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use validator_core::{Session, Target, targets};

use crate::error::Error;
use crate::input::Inputs;

/// Arguments of `preflight target from-templates`.
#[derive(Debug, Args)]
pub struct FromTemplatesArgs {
    /// Platform whose templates these are (only `watermark` takes templates)
    #[arg(long, default_value = "watermark")]
    pub target: String,
    /// Where to write the target file; `.toml` or `.json` by extension (default: TOML on stdout)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Template folder or ZIP, then optional `KIND=FILE` overrides (FILE relative to it)
    #[arg(value_name = "DIR|ZIP [KIND=FILE]...", required = true)]
    pub args: Vec<String>,
}

/// File-name stems (lower-case, no underscores) → kind.
const STEMS: &[(&str, &str)] = &[
    ("organizations", "organizations"),
    ("programs", "programs"),
    ("terms", "terms"),
    ("courses", "courses"),
    ("sections", "course_sections"),
    ("coursesections", "course_sections"),
    ("people", "people"),
    ("person", "people"),
    ("roles", "roles"),
    ("enrollments", "enrollments"),
    ("cohortenrollments", "cohort_enrollments"),
    ("basicpersonattributes", "person_basic_attributes"),
    ("personbasicattributes", "person_basic_attributes"),
    ("studenttermattributes", "student_term_attributes"),
    ("programcurriculum", "program_curriculum"),
];

fn kind_of_file(path: &str) -> Option<&'static str> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let key: String = stem
        .chars()
        .filter(|c| *c != '_' && *c != '-' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect();
    STEMS.iter().find(|(s, _)| *s == key).map(|(_, k)| *k)
}

/// Runs the command.
pub fn run(args: &FromTemplatesArgs) -> Result<(), Error> {
    if args.target != "watermark" {
        return Err(Error::Usage(format!(
            "only the watermark target is built from templates, not '{}'",
            args.target
        )));
    }
    let (source, overrides) = args
        .args
        .split_first()
        .ok_or_else(|| Error::Usage("give a template folder or ZIP".into()))?;
    let mut inputs = Inputs::collect(&[PathBuf::from(source)])?;
    let mut chosen: Vec<(String, usize)> = Vec::new();
    for o in overrides {
        let (kind, file) = o
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("'{o}' is not KIND=FILE")))?;
        if !targets::watermark::KINDS.iter().any(|(k, _)| *k == kind) {
            let known: Vec<&str> = targets::watermark::KINDS.iter().map(|(k, _)| *k).collect();
            return Err(Error::Usage(format!(
                "unknown kind '{kind}' (kinds: {})",
                known.join(", ")
            )));
        }
        let i = inputs
            .find(file)
            .ok_or_else(|| Error::Usage(format!("no template '{file}' in {source}")))?;
        chosen.push((kind.to_owned(), i));
    }
    for i in 0..inputs.entries.len() {
        let path = inputs.entries[i].path.clone();
        if chosen.iter().any(|(_, j)| *j == i) {
            continue;
        }
        if let Some(kind) = kind_of_file(&path)
            && !chosen.iter().any(|(k, _)| k == kind)
        {
            chosen.push((kind.to_owned(), i));
        }
    }
    let mut templates = Vec::new();
    for (kind, i) in &chosen {
        templates.push((kind.as_str(), header(&mut inputs, *i)?));
    }
    let target = targets::watermark::from_templates(&templates);
    let mut found: Vec<&str> = chosen.iter().map(|(k, _)| k.as_str()).collect();
    found.sort_unstable();
    eprintln!("templates found for: {}", found.join(", "));
    write(&target, args.out.as_deref())
}

/// The header cells of one template, read by the core itself.
fn header(inputs: &mut Inputs, i: usize) -> Result<Vec<String>, Error> {
    let mut session = Session::new(Target::new("templates"))?;
    let path = inputs.entries[i].path.clone();
    let mut failed = None;
    inputs.for_each_chunk(i, |chunk| {
        if let Err(e) = session.push(&path, chunk) {
            failed = Some(e);
        }
        // One chunk holds any real header; the rest of a template is not needed.
        false
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    session.finish_file(&path)?;
    let report = session.finish();
    Ok(report
        .files
        .into_iter()
        .next()
        .map(|f| f.header)
        .unwrap_or_default())
}

/// Writes a target file: JSON when `out` ends in `.json`, else TOML; stdout without `out`.
pub(crate) fn write(target: &Target, out: Option<&Path>) -> Result<(), Error> {
    let json = out.is_some_and(|p| {
        p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    });
    let text = if json {
        serde_json::to_string_pretty(target).map_err(|e| Error::Usage(e.to_string()))? + "\n"
    } else {
        toml::to_string(target).map_err(|e| Error::Usage(format!("cannot write TOML: {e}")))?
    };
    match out {
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(Error::Output),
        Some(p) => crate::bundle::write_atomically(p, text.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_map_to_kinds() {
        assert_eq!(
            kind_of_file("All_CSVs/Course_Sections.csv"),
            Some("course_sections")
        );
        assert_eq!(kind_of_file("person.csv"), Some("people"));
        assert_eq!(
            kind_of_file("BasicPersonAttributes.CSV"),
            Some("person_basic_attributes")
        );
        assert_eq!(kind_of_file("notes.csv"), None);
    }
}
