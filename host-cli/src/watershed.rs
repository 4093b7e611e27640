//! `preflight target from-watershed`: a target file from a Watershed CSV import template.
//!
//! The template (JSON with Handlebars expressions) reads cells by exact header text,
//! `{{columns.[Header Name]}}` or `{{columns.Name}}`; the target requires every header it
//! references, case-sensitively (see `validator_core::targets::watershed`). `-o FILE`
//! writes TOML or JSON by extension (default: TOML on stdout), as `from-templates` does.

use std::path::PathBuf;

use clap::Args;
use validator_core::targets::watershed;

use crate::error::Error;

/// Arguments of `preflight target from-watershed`.
#[derive(Debug, Args)]
pub struct FromWatershedArgs {
    /// Where to write the target file; `.toml` or `.json` by extension (default: TOML on stdout)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The Watershed import template (JSON)
    #[arg(value_name = "TEMPLATE.json")]
    pub template: PathBuf,
}

/// Runs the command.
pub fn run(args: &FromWatershedArgs) -> Result<(), Error> {
    let path = args.template.display().to_string();
    let text = std::fs::read_to_string(&args.template).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let target = watershed::from_template(&text).map_err(|e| Error::TargetFile {
        path,
        reason: e.to_string(),
    })?;
    eprintln!(
        "template references {} column(s): {}",
        target.kinds[0].columns.len(),
        target.kinds[0].columns.join(", ")
    );
    crate::templates::write(&target, args.out.as_deref())
}
