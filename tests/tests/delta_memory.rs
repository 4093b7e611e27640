//! An enrollments-only delta (every user already on the server) keeps memory per distinct
//! unresolved id, not per row, and its report stays exact: totals count every row, the
//! listed findings are the first ones, and a listed finding standing for further unlisted
//! rows of its value says how many.

use validator_core::{Options, Report, Session, targets};

/// `rows` enrollments over 20 users none of the bundle defines; course and section blank
/// so that `user_id` is the only reference of the file.
fn delta(rows: usize) -> (Report, u64) {
    let mut csv = String::from("course_id,section_id,user_id,role,status\n");
    for i in 0..rows {
        csv.push_str(&format!(",,U{:07},student,active\n", i % 20));
    }
    let mut s = Session::with_options(
        targets::canvas(),
        Options {
            max_findings_per_code: 100,
            ..Options::default()
        },
    )
    .expect("canvas");
    s.push("enrollments.csv", csv.as_bytes()).expect("push");
    let (bytes, _) = s.index_heap();
    (s.finish(), bytes)
}

fn missing(r: &Report) -> (Vec<&validator_core::Finding>, u64) {
    let f = &r.files[0];
    let listed: Vec<_> = f
        .findings
        .iter()
        .filter(|f| f.code == "ref.missing")
        .collect();
    let total = f
        .omitted
        .iter()
        .find(|o| o.code == "ref.missing")
        .map_or(listed.len() as u64, |o| o.total);
    (listed, total)
}

#[test]
fn delta_memory_grows_with_ids_not_rows() {
    let (small, small_bytes) = delta(2_000);
    let (big, big_bytes) = delta(20_000);
    assert!(
        big_bytes <= small_bytes + 4096,
        "index grew from {small_bytes} to {big_bytes} bytes for 10x the rows"
    );
    for (r, rows) in [(&small, 2_000u64), (&big, 20_000)] {
        let (listed, total) = missing(r);
        assert_eq!(total, rows, "every row counted");
        // The first 100 rows (2-101), as when every row was kept.
        let rows_listed: Vec<u64> = listed.iter().filter_map(|f| f.row).collect();
        assert_eq!(rows_listed, (2..102).collect::<Vec<u64>>());
        // U0000000 is on rows 2, 22, 42, 62, 82 of the first 100; its later rows are
        // counted on its last listed finding.
        let note = format!(
            "({} more row(s) of this file with this value are counted, not listed)",
            rows / 20 - 5
        );
        let at_82 = listed.iter().find(|f| f.row == Some(82)).expect("row 82");
        assert!(at_82.message.ends_with(&note), "{}", at_82.message);
        assert!(
            listed
                .iter()
                .filter(|f| f.row != Some(82) && f.message.contains("more row(s)"))
                .all(|f| f.row.is_some_and(|r| r >= 82)),
            "notes only on each value's last listed row"
        );
    }
}
