//! The custom-target corpora stay in sync with their sources: every
//! `tests/data/watershed/<case>/target.toml` is what `preflight target from-watershed` makes
//! of the case's `template.json`, and every `tests/data/frictionless/<case>/datapackage.json`
//! imports with no "not checked" warning.

use tests::data_dir;
use validator_core::Target;

fn case_dirs(target: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(data_dir().join(target))
        .expect("corpus folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input").is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn watershed_targets_are_generated_from_their_templates() {
    let cases = case_dirs("watershed");
    assert!(cases.len() >= 15, "{} Watershed cases", cases.len());
    for case in cases {
        let template = std::fs::read_to_string(case.join("template.json")).unwrap();
        let stored: Target =
            toml::from_str(&std::fs::read_to_string(case.join("target.toml")).unwrap()).unwrap();
        let made = validator_core::targets::watershed::from_template(&template)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(
            stored,
            made,
            "{}: regenerate with `preflight target from-watershed template.json -o target.toml`",
            case.display()
        );
    }
}

#[test]
fn frictionless_packages_import_with_their_warnings() {
    let cases = case_dirs("frictionless");
    assert!(cases.len() >= 5, "{} Frictionless cases", cases.len());
    for case in cases {
        let json = std::fs::read_to_string(case.join("datapackage.json")).unwrap();
        assert!(validator_core::import::is_table_schema(&json));
        let imported = validator_core::import::table_schema(&json).unwrap();
        // Every field, type and constraint of these packages is checked.
        assert!(
            imported.warnings.is_empty(),
            "{}: {:?}",
            case.display(),
            imported.warnings
        );
        // The staff directory cases (01-08) share one package.
        let Some(staff) = imported.target.kind("staff") else {
            continue;
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
    }
}
