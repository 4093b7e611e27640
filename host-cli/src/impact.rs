//! What an upload will change on the platform, said before `submit` sends it: the diff
//! against the last bundle the platform accepted ([`crate::history`]), and for Canvas what
//! batch mode and diffing will delete, checked against the profile's `change_threshold`
//! (the percentage at which Canvas aborts its own cleanup).

use std::io::Write;
use std::path::Path;

use validator_core::diff::{DiffOptions, DiffReport};
use validator_core::{Options, Target};

use crate::config::{Loaded, Platform as Name};
use crate::diff::{diff_bundles, percent};
use crate::error::Error;
use crate::input::Inputs;
use crate::render::thousands;

/// Changes listed before a send (the counts stay exact).
const LISTED: usize = 10;

/// The Canvas options that decide what an import deletes.
#[derive(Debug, Default)]
struct CanvasModes {
    batch_term: Option<String>,
    multi_term: bool,
    diffing: Option<String>,
    drop_status: Option<String>,
    threshold: Option<f64>,
}

/// The modes of a Canvas profile, from its options as the upload sends them (validated:
/// booleans `true`/`false`, `change_threshold` a whole percentage).
fn canvas_modes(profile: &Loaded) -> Result<CanvasModes, Error> {
    let opts = crate::platforms::canvas::check_options(profile)?;
    let text = |k: &str| {
        opts.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let on = |k: &str| text(k).as_deref() == Some("true");
    Ok(CanvasModes {
        batch_term: on("batch_mode")
            .then(|| text("batch_mode_term_id"))
            .flatten()
            // Files name terms by SIS id; Canvas accepts `sis_term_id:` for those.
            .map(|t| t.strip_prefix("sis_term_id:").unwrap_or(&t).to_owned()),
        multi_term: on("multi_term_batch_mode"),
        diffing: text("diffing_data_set_identifier"),
        drop_status: text("diffing_drop_status"),
        threshold: text("change_threshold").and_then(|t| t.parse().ok()),
    })
}

/// Prints the impact of `upload` (at `path`, sent as `file_name`) on stderr. Returns why
/// it should not be sent without `--yes` (a deletion share over `change_threshold`).
pub fn before_send(
    profile: &Loaded,
    journal: &Path,
    target: &Target,
    path: &Path,
    csv_name: Option<&str>,
    err: &mut dyn Write,
) -> Result<Option<String>, Error> {
    let canvas = profile.profile.target == Name::Canvas;
    let modes = if canvas {
        canvas_modes(profile)?
    } else {
        CanvasModes::default()
    };
    let deletes = modes.batch_term.is_some() || modes.diffing.is_some() || modes.multi_term;
    let Some(last) = crate::history::last(journal, &profile.name) else {
        if deletes {
            let _ = writeln!(
                err,
                "preflight: warning: no upload of profile '{}' is known to have succeeded yet, so what Canvas's {} will delete cannot be said before sending",
                profile.name,
                if modes.diffing.is_some() {
                    "diffing"
                } else {
                    "batch mode"
                }
            );
        }
        return Ok(None);
    };
    let mut old = Inputs::collect(std::slice::from_ref(&last.to_path_buf()))?;
    let mut new = Inputs::collect(&[path.to_path_buf()])?;
    if let (Some(name), Some(e)) = (csv_name, new.entries.first_mut()) {
        // The kept copy holds the CSV under the name it was sent with.
        e.path = name.to_owned();
    }
    let scope = modes
        .batch_term
        .as_deref()
        .and_then(|t| validator_core::targets::canvas_batch_scope(target, t));
    let options = DiffOptions {
        max_changes: LISTED,
        old_name: "last accepted upload".into(),
        new_name: "this upload".into(),
        session: Options::default(),
        scope,
    };
    let report = diff_bundles(target, options, &mut old, &mut new)?;
    let _ = writeln!(err, "preflight: what this upload changes:");
    // The scope is said below in Canvas's terms.
    let table = DiffReport {
        scope: None,
        ..report.clone()
    };
    crate::diff::render(&table, LISTED, false, err)?;
    Ok(canvas_verdict(&report, &modes, err))
}

/// Canvas's deletions, in Canvas's words where it has them; the reason to hold the
/// upload when a share exceeds `change_threshold`.
fn canvas_verdict(r: &DiffReport, m: &CanvasModes, err: &mut dyn Write) -> Option<String> {
    let mut refuse = None;
    let over = |n: u64, of: u64| {
        m.threshold
            .is_some_and(|t| of > 0 && n as f64 * 100.0 / of as f64 > t)
    };
    if let (Some(term), Some(scope)) = (&m.batch_term, &r.scope) {
        for s in scope {
            let _ = writeln!(
                err,
                "preflight: Canvas batch mode (term {term}) will delete {} of the term's {} {} ({})",
                thousands(s.removed),
                thousands(s.in_scope),
                s.kind,
                percent(s.removed, s.in_scope)
            );
            if refuse.is_none() && over(s.removed, s.in_scope) {
                refuse = Some(format!(
                    "{} {} would be deleted and exceeds the set threshold of {}%",
                    s.removed,
                    s.kind,
                    m.threshold.unwrap_or_default()
                ));
            }
        }
    }
    if m.multi_term {
        let _ = writeln!(
            err,
            "preflight: warning: multi_term_batch_mode deletes in every term the upload names; preflight counts single-term batch mode only"
        );
    }
    if let Some(set) = &m.diffing {
        for k in &r.kinds {
            if k.removed == 0 {
                continue;
            }
            // DiffGenerator: absent rows are re-sent with this status.
            let status = match (k.kind.as_str(), &m.drop_status) {
                ("enrollments", Some(s)) => s.as_str(),
                _ => "deleted",
            };
            let of = k.removed + k.changed + k.unchanged;
            let _ = writeln!(
                err,
                "preflight: Canvas diffing (data set {set}) will set {} of {} {} to '{status}' ({})",
                thousands(k.removed),
                thousands(of),
                k.kind,
                percent(k.removed, of)
            );
            if refuse.is_none() && over(k.removed, of) {
                refuse = Some(format!(
                    "{} {} would be dropped by diffing and exceeds the set threshold of {}%",
                    k.removed,
                    k.kind,
                    m.threshold.unwrap_or_default()
                ));
            }
        }
    }
    refuse
}
