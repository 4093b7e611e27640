//! The custom-target corpora stay in sync with their sources: every
//! `tests/data/watershed/<case>/target.toml` is what `preflight target from-watershed` makes
//! of the case's `template.json`, and every `tests/data/frictionless/<case>/datapackage.json`
//! imports with no "not checked" warning.
//!
//! One test per case, named `<target>/<case>` (libtest-mimic, `harness = false`), so one
//! failure does not hide the others.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use tests::data_dir;
use validator_core::Target;

fn case_dirs(target: &str) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(data_dir().join(target))
        .expect("corpus folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input").is_dir())
        .collect();
    out.sort();
    out
}

/// A trial per case of `target`, plus one that the folder has at least `min` cases.
fn trials(target: &'static str, min: usize, test: fn(&Path) -> Result<(), Failed>) -> Vec<Trial> {
    let cases = case_dirs(target);
    let n = cases.len();
    let mut out = vec![Trial::test(format!("{target}/has_cases"), move || {
        if n >= min {
            Ok(())
        } else {
            Err(format!("{n} {target} cases, want at least {min}").into())
        }
    })];
    out.extend(cases.into_iter().map(|case| {
        let name = format!(
            "{target}/{}",
            case.file_name().unwrap_or_default().to_string_lossy()
        );
        Trial::test(name, move || test(&case))
    }));
    out
}

fn main() {
    let args = Arguments::from_args();
    let mut all = trials(
        "watershed",
        15,
        watershed_target_is_generated_from_its_template,
    );
    all.extend(trials(
        "frictionless",
        5,
        frictionless_package_imports_with_its_warnings,
    ));
    libtest_mimic::run(&args, all).exit();
}

fn watershed_target_is_generated_from_its_template(case: &Path) -> Result<(), Failed> {
    let template = std::fs::read_to_string(case.join("template.json"))?;
    let stored: Target = toml::from_str(&std::fs::read_to_string(case.join("target.toml"))?)?;
    let made = validator_core::targets::watershed::from_template(&template)?;
    if stored != made {
        return Err(
            "target.toml differs: regenerate with `preflight target from-watershed template.json -o target.toml`"
                .into(),
        );
    }
    Ok(())
}

fn frictionless_package_imports_with_its_warnings(case: &Path) -> Result<(), Failed> {
    let json = std::fs::read_to_string(case.join("datapackage.json"))?;
    assert!(validator_core::import::is_table_schema(&json));
    let imported = validator_core::import::table_schema(&json)?;
    // Every field, type and constraint of these packages is checked.
    if !imported.warnings.is_empty() {
        return Err(format!("not checked: {:?}", imported.warnings).into());
    }
    // The staff directory cases (01-08) share one package.
    let Some(staff) = imported.target.kind("staff") else {
        return Ok(());
    };
    assert_eq!(staff.file_name, "staff.csv");
    assert_eq!(
        staff.columns,
        [
            "id",
            "email",
            "department",
            "manager",
            "full_time",
            "started",
            "salary"
        ]
    );
    Ok(())
}
