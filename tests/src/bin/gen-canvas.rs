//! Deterministic generator of a realistic Canvas SIS bundle, for benches and soak tests.
//!
//! ```text
//! gen-canvas --users N [--seed S] [--defect-rate R] [--sorted] OUT_DIR
//! ```
//!
//! Writes `accounts.csv`, `terms.csv`, `courses.csv` (N/15 rows), `sections.csv` (~1.2 per
//! course), `users.csv` (N rows) and `enrollments.csv` (6 per user) with CRLF line endings,
//! in the shapes of `shared/research/perf-anchors.md`: every `sortable_name` quoted
//! ("Last, First"), ~1% of them with an embedded doubled quote, some accented names;
//! enrollments pick users and sections uniformly at random (no sort order) and carry the
//! section's own `course_id`, so references are consistent, as real SIS exports do: the
//! worst case for look-up locality. `--sorted` writes them in user then section order
//! instead (the best case: each look-up hits the cache line of the one before). The same
//! arguments always give the same bytes.
//!
//! With `--defect-rate R` each users/enrollments row is, with probability R, given exactly
//! one defect (bad status, blank required cell, dangling user reference, impossible date);
//! the counts per file and kind are printed. Without it the bundle is clean.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tests::rng::Rng;

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Margaret",
    "Steven",
    "Sandra",
    "Paul",
    "Ashley",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Aarav",
    "Priya",
    "Mohammed",
    "Fatima",
    "Olga",
    "Ivan",
    "José",
    "María",
    "Zoë",
    "Renée",
    "Björn",
    "François",
    "Søren",
    "Łukasz",
    "Chloé",
    "Jürgen",
    "Inês",
    "Ana-María",
    "Noël",
    "Dagný",
    "Siân",
    "Åsa",
];

const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Nguyen",
    "Kim",
    "Park",
    "Patel",
    "Singh",
    "Khan",
    "Tanaka",
    "Sato",
    "O'Brien",
    "García",
    "Müller",
    "Núñez",
    "Søndergaard",
    "Öztürk",
    "Dvořák",
    "Lefèvre",
    "Gonçalves",
    "Wójcik",
    "Ångström",
    "Björklund",
    "de la Cruz",
    "MacLeod",
    "Schäfer",
];

/// Enrollment statuses Canvas rejects (none starts with an accepted one).
const BAD_STATUS: &[&str] = &["actve", "enroled", "dropped"];

const NICK: &[&str] = &["Bob", "Liz", "Bill", "Kate", "Jim", "Pat", "Sam", "Alex"];

const SUBJECTS: &[(&str, &str)] = &[
    ("MATH", "Mathematics"),
    ("ENGL", "English Composition"),
    ("HIST", "World History"),
    ("BIOL", "Biology"),
    ("CHEM", "General Chemistry"),
    ("PHYS", "Physics"),
    ("CSCI", "Computer Science"),
    ("ECON", "Economics"),
    ("PSYC", "Psychology"),
    ("SOCI", "Sociology"),
    ("ARTS", "Studio Art"),
    ("MUSC", "Music Theory"),
    ("PHIL", "Philosophy"),
    ("SPAN", "Spanish"),
    ("FREN", "French"),
    ("STAT", "Statistics"),
];

const LEVELS: &[(&str, &str)] = &[
    ("Introduction to", "1"),
    ("Topics in", "2"),
    ("Intermediate", "2"),
    ("Advanced", "3"),
    ("Seminar in", "4"),
];

/// (term_id, name, start month, end month) in 2026/2027.
const TERMS: &[(&str, &str, &str, &str)] = &[
    ("T2026SP", "Spring 2026", "2026-01-12", "2026-05-08"),
    ("T2026SU", "Summer 2026", "2026-05-26", "2026-08-07"),
    ("T2026FA", "Fall 2026", "2026-08-24", "2026-12-18"),
    ("T2027SP", "Spring 2027", "2027-01-11", "2027-05-07"),
    ("T2027SU", "Summer 2027", "2027-05-25", "2027-08-06"),
    ("T2027FA", "Fall 2027", "2027-08-23", "2027-12-17"),
];

#[derive(Debug)]
struct Args {
    users: u64,
    seed: u64,
    defect_rate: f64,
    /// Enrollments in user, then section order instead of random.
    sorted: bool,
    out: PathBuf,
}

fn usage() -> ExitCode {
    eprintln!("usage: gen-canvas --users N [--seed S] [--defect-rate R] [--sorted] OUT_DIR");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let mut users = None;
    let mut seed = 1u64;
    let mut defect_rate = 0.0f64;
    let mut sorted = false;
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--users" => {
                users = Some(
                    value("--users")?
                        .parse::<u64>()
                        .map_err(|e| format!("--users: {e}"))?,
                );
            }
            "--seed" => {
                seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?;
            }
            "--defect-rate" => {
                defect_rate = value("--defect-rate")?
                    .parse()
                    .map_err(|e| format!("--defect-rate: {e}"))?;
                if !(0.0..=1.0).contains(&defect_rate) {
                    return Err("--defect-rate must be within 0..=1".into());
                }
            }
            "--sorted" => sorted = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ if out.is_none() => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    let users = users.ok_or("--users is required")?;
    if users == 0 {
        return Err("--users must be at least 1".into());
    }
    Ok(Args {
        users,
        seed,
        defect_rate,
        sorted,
        out: out.ok_or("OUT_DIR is required")?,
    })
}

/// Planted defects, per file and kind.
#[derive(Debug, Default)]
struct Defects {
    rows: Vec<(&'static str, &'static str, u64)>,
}

impl Defects {
    fn add(&mut self, file: &'static str, kind: &'static str) {
        match self
            .rows
            .iter_mut()
            .find(|(f, k, _)| *f == file && *k == kind)
        {
            Some(r) => r.2 += 1,
            None => self.rows.push((file, kind, 1)),
        }
    }

    fn total(&self) -> u64 {
        self.rows.iter().map(|r| r.2).sum()
    }
}

/// A CSV file written under a temporary name and renamed into place when complete.
struct Out {
    name: &'static str,
    tmp: PathBuf,
    dest: PathBuf,
    w: BufWriter<File>,
    rows: u64,
    line: Vec<u8>,
}

impl Out {
    fn create(dir: &Path, name: &'static str, header: &str) -> std::io::Result<Out> {
        let dest = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let mut o = Out {
            name,
            tmp,
            dest,
            w,
            rows: 0,
            line: Vec::with_capacity(256),
        };
        o.w.write_all(header.as_bytes())?;
        o.w.write_all(b"\r\n")?;
        Ok(o)
    }

    /// Appends `self.line` as one row (the caller fills it, without line ending).
    fn end_row(&mut self) -> std::io::Result<()> {
        self.line.extend_from_slice(b"\r\n");
        self.w.write_all(&self.line)?;
        self.line.clear();
        self.rows += 1;
        Ok(())
    }

    fn close(self) -> std::io::Result<(&'static str, u64, u64)> {
        let file = self.w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all().ok();
        let bytes = file.metadata()?.len();
        drop(file);
        std::fs::rename(&self.tmp, &self.dest)?;
        Ok((self.name, self.rows, bytes))
    }
}

/// Line helpers: fields are appended to a byte buffer, commas explicit.
trait Line {
    fn s(&mut self, v: &str) -> &mut Self;
    fn c(&mut self) -> &mut Self;
    /// `prefix` then `n` zero-padded to `width` digits.
    fn id(&mut self, prefix: &str, n: u64, width: usize) -> &mut Self;
    fn date(&mut self, y: u32, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> &mut Self;
}

impl Line for Vec<u8> {
    fn s(&mut self, v: &str) -> &mut Self {
        self.extend_from_slice(v.as_bytes());
        self
    }

    fn c(&mut self) -> &mut Self {
        self.push(b',');
        self
    }

    fn id(&mut self, prefix: &str, n: u64, width: usize) -> &mut Self {
        self.extend_from_slice(prefix.as_bytes());
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let len = digits.len() - i;
        for _ in len..width {
            self.push(b'0');
        }
        self.extend_from_slice(&digits[i..]);
        self
    }

    fn date(&mut self, y: u32, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> &mut Self {
        self.id("", u64::from(y), 4)
            .s("-")
            .id("", u64::from(m), 2)
            .s("-")
            .id("", u64::from(d), 2)
            .s("T")
            .id("", u64::from(hh), 2)
            .s(":")
            .id("", u64::from(mm), 2)
            .s(":")
            .id("", u64::from(ss), 2)
            .s("Z")
    }
}

/// Parses `YYYY-MM-DD` from the TERMS table.
fn ymd(s: &str) -> (u32, u32, u32) {
    let mut p = s.split('-').map(|x| x.parse::<u32>().unwrap_or(1));
    (
        p.next().unwrap_or(2026),
        p.next().unwrap_or(1),
        p.next().unwrap_or(1),
    )
}

/// Login-safe ASCII form of a name: letters only, lower case, accents dropped.
fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'ä' | 'â' | 'å' | 'Å' | 'Ä' => 'a',
                'é' | 'è' | 'ë' | 'ê' => 'e',
                'í' | 'ï' => 'i',
                'ó' | 'ö' | 'ø' | 'Ö' | 'ô' => 'o',
                'ú' | 'ü' => 'u',
                'ñ' => 'n',
                'ç' => 'c',
                'ř' => 'r',
                'ł' | 'Ł' => 'l',
                'ý' => 'y',
                'ð' => 'd',
                c => c,
            };
            c.is_ascii_alphabetic().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

struct Bundle {
    users: u64,
    accounts: u64,
    courses: u64,
    /// course index per section.
    section_course: Vec<u32>,
    /// term index per course.
    course_term: Vec<u8>,
}

fn write_accounts(dir: &Path, b: &Bundle) -> std::io::Result<(&'static str, u64, u64)> {
    let mut o = Out::create(
        dir,
        "accounts.csv",
        "account_id,parent_account_id,name,status",
    )?;
    // Root, then colleges under it, then departments under colleges: parents always first.
    let colleges =
        ((b.accounts as f64).sqrt() as u64).clamp(1, b.accounts.saturating_sub(1).max(1));
    o.line
        .s("A0000")
        .c()
        .c()
        .s("State University")
        .c()
        .s("active");
    o.end_row()?;
    for i in 1..b.accounts {
        let parent = if i <= colleges {
            0
        } else {
            1 + (i - 1) % colleges
        };
        let (code, subject) = SUBJECTS[(i as usize) % SUBJECTS.len()];
        o.line.id("A", i, 4).c().id("A", parent, 4).c();
        if i <= colleges {
            o.line.s("College ").id("", i, 2);
        } else {
            o.line
                .s("Department of ")
                .s(subject)
                .s(" ")
                .s(code)
                .s("-")
                .id("", i, 3);
        }
        o.line.c().s("active");
        o.end_row()?;
    }
    o.close()
}

fn write_terms(dir: &Path) -> std::io::Result<(&'static str, u64, u64)> {
    let mut o = Out::create(dir, "terms.csv", "term_id,name,status,start_date,end_date")?;
    for (id, name, start, end) in TERMS {
        let (y, m, d) = ymd(start);
        let (y2, m2, d2) = ymd(end);
        o.line.s(id).c().s(name).c().s("active").c();
        o.line
            .date(y, m, d, 0, 0, 0)
            .c()
            .date(y2, m2, d2, 23, 59, 59);
        o.end_row()?;
    }
    o.close()
}

fn write_courses(
    dir: &Path,
    b: &Bundle,
    rng: &mut Rng,
) -> std::io::Result<(&'static str, u64, u64)> {
    let mut o = Out::create(
        dir,
        "courses.csv",
        "course_id,short_name,long_name,account_id,term_id,status,start_date,end_date",
    )?;
    for c in 0..b.courses {
        let (code, subject) = rng.pick(SUBJECTS);
        let (level, digit) = rng.pick(LEVELS);
        let num = rng.below(100);
        let sec = 1 + rng.below(12);
        let term = TERMS[b.course_term[c as usize] as usize];
        // Department accounts when there are any, else the colleges or the root.
        let account = if b.accounts > 1 {
            1 + rng.below(b.accounts - 1)
        } else {
            0
        };
        let status = match rng.below(100) {
            0..=84 => "active",
            85..=94 => "unpublished",
            _ => "completed",
        };
        o.line.id("C", c + 1, 6).c();
        o.line
            .s(code)
            .s(" ")
            .s(digit)
            .id("", num, 2)
            .s("-")
            .id("", sec, 2)
            .c();
        o.line
            .s(level)
            .s(" ")
            .s(subject)
            .s(" (")
            .s(term.1)
            .s(" section ")
            .id("", sec, 2)
            .s(")")
            .c();
        o.line.id("A", account, 4).c().s(term.0).c().s(status).c();
        if rng.below(4) == 0 {
            let (y, m, d) = ymd(term.2);
            let (y2, m2, d2) = ymd(term.3);
            o.line.date(y, m, d, 8, 0, 0).c().date(y2, m2, d2, 22, 0, 0);
        } else {
            o.line.c();
        }
        o.end_row()?;
    }
    o.close()
}

fn write_sections(
    dir: &Path,
    b: &Bundle,
    rng: &mut Rng,
) -> std::io::Result<(&'static str, u64, u64)> {
    let mut o = Out::create(
        dir,
        "sections.csv",
        "section_id,course_id,name,status,start_date,end_date",
    )?;
    let mut nth = 0u64;
    let mut prev = u32::MAX;
    for (s, &c) in b.section_course.iter().enumerate() {
        nth = if c == prev { nth + 1 } else { 1 };
        prev = c;
        let term = TERMS[b.course_term[c as usize] as usize];
        o.line
            .id("S", s as u64 + 1, 7)
            .c()
            .id("C", u64::from(c) + 1, 6)
            .c();
        o.line.s("Section ").id("", nth, 2).s(" - ").s(term.1).c();
        o.line
            .s(if rng.below(50) == 0 {
                "deleted"
            } else {
                "active"
            })
            .c();
        if rng.below(3) == 0 {
            let (y, m, d) = ymd(term.2);
            let (y2, m2, d2) = ymd(term.3);
            o.line
                .date(y, m, d, 0, 0, 0)
                .c()
                .date(y2, m2, d2, 23, 59, 59);
        } else {
            o.line.c();
        }
        o.end_row()?;
    }
    o.close()
}

fn write_users(
    dir: &Path,
    b: &Bundle,
    rng: &mut Rng,
    rate: f64,
    defects: &mut Defects,
) -> std::io::Result<(&'static str, u64, u64)> {
    let mut o = Out::create(
        dir,
        "users.csv",
        "user_id,login_id,first_name,last_name,sortable_name,email,status",
    )?;
    for u in 0..b.users {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let nick = (rng.below(100) == 0).then(|| rng.pick(NICK));
        let status = match rng.below(100) {
            0..=96 => "active",
            97..=98 => "suspended",
            _ => "deleted",
        };
        let defect = (rate > 0.0 && rng.unit() < rate).then(|| rng.below(2));
        let login = {
            let mut l = ascii_slug(first);
            l.push('.');
            l.push_str(&ascii_slug(last));
            l
        };
        o.line.id("U", u + 1, 7).c();
        if defect == Some(1) {
            defects.add("users.csv", "blank required (login_id)");
        } else {
            o.line.s(&login).id("", u + 1, 7);
        }
        o.line.c().s(first).c().s(last).c();
        // sortable_name "Last, First" always quoted; ~1% carry a nickname in doubled quotes.
        o.line.s("\"").s(last).s(", ").s(first);
        if let Some(n) = nick {
            o.line.s(" \"\"").s(n).s("\"\"");
        }
        o.line.s("\"").c();
        o.line
            .s(&login)
            .id("", u + 1, 7)
            .s("@students.state-university.edu")
            .c();
        if defect == Some(0) {
            defects.add("users.csv", "bad status");
            o.line.s("actve");
        } else {
            o.line.s(status);
        }
        o.end_row()?;
    }
    o.close()
}

fn write_enrollments(
    dir: &Path,
    b: &Bundle,
    rng: &mut Rng,
    rate: f64,
    sorted: bool,
    defects: &mut Defects,
) -> std::io::Result<(&'static str, u64, u64)> {
    let mut o = Out::create(
        dir,
        "enrollments.csv",
        "course_id,section_id,user_id,user_integration_id,role,role_id,status,start_date,end_date,associated_user_id,limit_section_privileges,notify",
    )?;
    let sections = b.section_course.len() as u64;
    let rows = b.users * 6;
    for i in 0..rows {
        let (s, user) = if sorted {
            // Six per user; sections rise with the row (each user's six in section order).
            let s = (u128::from(i) * u128::from(sections) / u128::from(rows)) as u64;
            (s, 1 + i / 6)
        } else {
            (rng.below(sections), 1 + rng.below(b.users))
        };
        let c = b.section_course[s as usize];
        let role = match rng.below(100) {
            0..=93 => "student",
            94..=97 => "teacher",
            98 => "ta",
            _ => "observer",
        };
        let status = match rng.below(100) {
            0..=89 => "active",
            90..=94 => "completed",
            95..=97 => "inactive",
            _ => "deleted",
        };
        let term = TERMS[b.course_term[c as usize] as usize];
        let (y, m, d) = ymd(term.2);
        let (y2, m2, d2) = ymd(term.3);
        let day = (d + rng.below(7) as u32).min(28);
        let hour = rng.below(24) as u32;
        let defect = (rate > 0.0 && rng.unit() < rate).then(|| rng.below(4));
        o.line
            .id("C", u64::from(c) + 1, 6)
            .c()
            .id("S", s + 1, 7)
            .c();
        if defect == Some(2) {
            defects.add("enrollments.csv", "dangling user_id");
            o.line.id("U9", rng.below(1_000_000), 7);
        } else {
            o.line.id("U", user, 7);
        }
        o.line.c().c().s(role).c().c();
        match defect {
            Some(0) => {
                defects.add("enrollments.csv", "bad status");
                let bad = rng.pick(BAD_STATUS);
                o.line.s(bad);
            }
            Some(1) => defects.add("enrollments.csv", "blank required (status)"),
            _ => {
                o.line.s(status);
            }
        }
        o.line.c();
        if defect == Some(3) {
            defects.add("enrollments.csv", "bad date (start_date)");
            // Impossible dates: 30 February, month 13.
            if rng.below(2) == 0 {
                o.line.date(y, 2, 30, hour, 0, 0);
            } else {
                o.line.date(y, 13, day, hour, 0, 0);
            }
        } else {
            o.line.date(y, m, day, hour, 0, 0);
        }
        o.line.c().date(y2, m2, d2, 23, 59, 59).c().c();
        o.line
            .s(if role == "teacher" { "true" } else { "false" })
            .c();
        o.end_row()?;
    }
    o.close()
}

fn run(a: &Args) -> std::io::Result<()> {
    std::fs::create_dir_all(&a.out)?;
    let mut plan = Rng::new(a.seed, 0);
    let courses = (a.users / 15).max(1);
    // ~1.2 sections per course: one each, a second for about one course in five.
    let mut section_course = Vec::with_capacity((courses as usize) * 6 / 5 + 1);
    let mut course_term = Vec::with_capacity(courses as usize);
    for c in 0..courses {
        section_course.push(c as u32);
        if plan.below(5) == 0 {
            section_course.push(c as u32);
        }
        course_term.push(plan.below(TERMS.len() as u64) as u8);
    }
    let b = Bundle {
        users: a.users,
        accounts: a.users / 1000 + 2,
        courses,
        section_course,
        course_term,
    };
    let mut defects = Defects::default();
    let started = std::time::Instant::now();
    let written = [
        write_accounts(&a.out, &b)?,
        write_terms(&a.out)?,
        write_courses(&a.out, &b, &mut Rng::new(a.seed, 1))?,
        write_sections(&a.out, &b, &mut Rng::new(a.seed, 2))?,
        write_users(
            &a.out,
            &b,
            &mut Rng::new(a.seed, 3),
            a.defect_rate,
            &mut defects,
        )?,
        write_enrollments(
            &a.out,
            &b,
            &mut Rng::new(a.seed, 4),
            a.defect_rate,
            a.sorted,
            &mut defects,
        )?,
    ];
    println!(
        "wrote {} (users {}, seed {}, defect rate {}, references {}) in {:.2} s",
        a.out.display(),
        a.users,
        a.seed,
        a.defect_rate,
        if a.sorted { "sorted" } else { "random" },
        started.elapsed().as_secs_f64()
    );
    println!("{:<18} {:>12} {:>15}", "file", "rows", "bytes");
    let (mut rows, mut bytes) = (0, 0);
    for (name, r, by) in &written {
        println!("{name:<18} {r:>12} {by:>15}");
        rows += r;
        bytes += by;
    }
    println!("{:<18} {rows:>12} {bytes:>15}", "bundle");
    if a.defect_rate > 0.0 {
        println!("planted defects: {}", defects.total());
        for (file, kind, n) in &defects.rows {
            println!("  {file:<16} {kind:<28} {n:>8}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen-canvas: {e}");
            }
            return usage();
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-canvas: {e}");
            ExitCode::FAILURE
        }
    }
}
