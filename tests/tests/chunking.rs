//! Property: any split of the same bytes into chunks gives an identical report.

use proptest::prelude::*;
use validator_core::{Session, targets};

fn report_for(parts: &[(String, Vec<Vec<u8>>)]) -> validator_core::Report {
    let mut s = Session::new(targets::canvas()).unwrap();
    for (path, chunks) in parts {
        for c in chunks {
            s.push(path, c).unwrap();
        }
        s.finish_file(path).unwrap();
    }
    s.finish()
}

fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for c in cuts {
        out.push(bytes[last..c].to_vec());
        last = c;
    }
    out.push(bytes[last..].to_vec());
    out
}

/// Messy but plausible CSV: quotes, CRLF, BOM, multi-byte and invalid bytes, NULs.
fn messy_file() -> impl Strategy<Value = Vec<u8>> {
    let cell = prop_oneof![
        "[a-z0-9_]{0,6}".prop_map(String::into_bytes),
        Just(b"\"quoted, with comma\"".to_vec()),
        Just(b"\"dou\"\"ble\"".to_vec()),
        Just(b"\"multi\nline\"".to_vec()),
        Just(b"bad\"quote".to_vec()),
        Just(b"\"after\"x".to_vec()),
        Just("Ren\u{e9}e \u{1F600}".as_bytes().to_vec()),
        Just(b"Ren\xE9e".to_vec()),
        Just(b"nul\0".to_vec()),
        Just(b"active".to_vec()),
        Just(b"2024-01-02T03:04:05Z".to_vec()),
        Just(b"2024-1-2 03:04".to_vec()),
    ];
    let header = prop_oneof![
        Just(b"user_id,login_id,email,status".to_vec()),
        Just(b"course_id,user_id,role,section_id,status,start_date".to_vec()),
        Just(b"section_id,course_id,name,status".to_vec()),
        Just(b"\xEF\xBB\xBFterm_id,name,status,start_date".to_vec()),
        Just(b"Course_ID, short_name ,long_name,status".to_vec()),
    ];
    let row = prop::collection::vec(cell, 0..7).prop_map(|cells| cells.join(&b","[..]));
    let eol = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec())
    ];
    (header, prop::collection::vec((row, eol), 0..12)).prop_map(|(h, rows)| {
        let mut f = h;
        f.extend_from_slice(b"\n");
        for (r, e) in rows {
            f.extend(r);
            f.extend(e);
        }
        f
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn chunk_splits_do_not_change_the_report(
        a in messy_file(),
        b in messy_file(),
        cuts_a in prop::collection::vec(0usize..10_000, 0..8),
        cuts_b in prop::collection::vec(0usize..10_000, 0..8),
    ) {
        let whole = report_for(&[("a.csv".into(), vec![a.clone()]), ("b.csv".into(), vec![b.clone()])]);
        let parts = report_for(&[("a.csv".into(), split(&a, &cuts_a)), ("b.csv".into(), split(&b, &cuts_b))]);
        prop_assert_eq!(whole, parts);
    }

    #[test]
    fn utf16_splits_do_not_change_the_report(
        text in "[a-z,\n\"]{0,60}",
        cuts in prop::collection::vec(0usize..1_000, 0..6),
    ) {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(format!("user_id,login_id,status\n{text}").encode_utf16().flat_map(u16::to_le_bytes));
        let whole = report_for(&[("u.csv".into(), vec![bytes.clone()])]);
        let parts = report_for(&[("u.csv".into(), split(&bytes, &cuts))]);
        prop_assert_eq!(whole, parts);
    }
}
