//! The `responses` fuzz harness: each platform's parsers of what its server answers
//! (status JSON, error lists, `Link` headers, upload answers, Encoura's presigned fields and
//! file states, Sunbird's `failureResult` rows), fed arbitrary bytes. It lives in the binary
//! crate because the platforms do; `cargo test -p host-cli --bin preflight` replays
//! `fuzz/corpus/responses/` and `tests/data/fuzz/responses/` through it, and
//! `bash fuzz/run.sh responses` fuzzes it (host-cli's `afl` feature).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{canvas, encoura, id_string, sunbird, watershed};

/// Feeds `data` to one parser family: byte 0 picks it, the rest is the answer's body (or
/// header value). Panics when a parser panics or breaks a cheap invariant.
pub fn responses(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(body);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    match which % 6 {
        0 => {
            // Canvas: an sis_import, its attachment, an error body.
            if let Ok(i) = serde_json::from_slice::<canvas::SisImport>(body) {
                let s = canvas::status_of("1", &i, Vec::new());
                assert_eq!(s.id, "1");
                let _ = canvas::attachment(&i);
            }
            if let Some(v) = &json {
                let _ = canvas::canvas_message(v);
                let _ = id_string(v);
            }
        }
        1 => {
            // Canvas: the `Link` header of a paginated answer.
            if let Some(next) = canvas::next_link(&text) {
                assert!(
                    text.contains(&next),
                    "next link {next:?} is not in the header"
                );
            }
        }
        2 => {
            // Watershed: an upload answer, a list result, its failedRows, its times.
            let _ = watershed::import_id(body);
            if let Some(v) = &json {
                let _ = watershed::text(v, "created");
                if let Some(m) = v.get("failedRows").and_then(Value::as_object) {
                    let problems = watershed::failed_rows(m);
                    assert_eq!(problems.len(), m.len());
                    assert!(problems.windows(2).all(|w| w[0].row <= w[1].row));
                }
            }
            let _ = watershed::unix_seconds(&text);
        }
        3 => {
            // Encoura: presigned POST fields, a file's state, list dates, download names.
            let _ = serde_json::from_slice::<encoura::Fields>(body);
            if let Ok(s) = serde_json::from_slice::<encoura::FileState>(body) {
                let _ = encoura::meaning(&s);
            }
            if let Some(v) = &json {
                let _ = encoura::format_date(v);
            }
            for name in [encoura::file_name_of(&text), encoura::sanitise(&text)]
                .into_iter()
                .flatten()
            {
                assert!(!name.starts_with('.') && name.chars().count() <= 200);
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
                    "unsafe file name {name:?}"
                );
            }
        }
        4 => {
            // Sunbird: failureResult rows located in the uploaded CSV. The body is the CSV,
            // a NUL byte, then the failure row's JSON.
            let (csv, failure) = match body.iter().position(|&b| b == 0) {
                Some(i) => (&body[..i], &body[i + 1..]),
                None => (body, &b"{}"[..]),
            };
            let records = sunbird::records(&String::from_utf8_lossy(csv));
            let failure: Value = serde_json::from_slice(failure).unwrap_or(Value::Null);
            let aliases = BTreeMap::from([("first name".to_owned(), "firstName".to_owned())]);
            if let Some(r) = sunbird::locate(&failure, &records, &aliases, &[]) {
                assert!(r >= 1 && r < records.len());
            }
            let _ = sunbird::echoed(&failure);
        }
        _ => {
            // Shared: ids in any JSON shape, and the Basic credential's base64.
            if let Some(v) = &json {
                let _ = id_string(v);
            }
            assert_eq!(watershed::base64(body).len(), body.len().div_ceil(3) * 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every seed and regression input of the `responses` target, through the harness. A
    /// regression input with a `<name>.ignored` file beside it (the reason) is skipped.
    #[test]
    fn replay_responses_corpus_and_regressions() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut replayed = 0;
        for dir in ["fuzz/corpus/responses", "tests/data/fuzz/responses"] {
            let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                let ignored = p.with_file_name(format!(
                    "{}.ignored",
                    p.file_name().unwrap().to_string_lossy()
                ));
                if p.extension().is_some_and(|e| e == "ignored") || ignored.exists() {
                    continue;
                }
                let data = std::fs::read(&p).unwrap();
                let run = std::panic::catch_unwind(|| super::responses(&data));
                assert!(run.is_ok(), "{} panicked (see above)", p.display());
                replayed += 1;
            }
        }
        assert!(replayed >= 10, "only {replayed} responses inputs replayed");
    }
}
