//! Collecting the files to check from CSV, folder and ZIP arguments, the way Canvas reads
//! an upload, and reading them back in fixed-size chunks.
//!
//! Nothing here holds a whole file: an [`Inputs`] keeps paths and ZIP central directories
//! only, and every read goes through a 64 KiB buffer. Files are re-opened for each pass
//! (kind peek, validation, snippet lines) rather than cached, so memory does not grow with
//! file size.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use crate::error::Error;

/// Bytes read per chunk (and the prefix peeked for kind detection).
pub const CHUNK: usize = 64 * 1024;

/// Where a file's bytes come from.
#[derive(Debug)]
enum Source {
    /// A file on disk.
    File(PathBuf),
    /// Entry `index` of archive `zip` (an index into [`Inputs::zips`]).
    Zip { zip: usize, index: usize },
}

/// One CSV file to validate.
#[derive(Debug)]
pub struct Entry {
    /// Report path: relative to the folder or ZIP root, `/`-separated.
    pub path: String,
    source: Source,
}

#[derive(Debug)]
struct Zip {
    /// The argument as given, for messages.
    display: String,
    archive: ZipArchive<BufReader<File>>,
}

/// Everything found under the arguments.
#[derive(Debug)]
pub struct Inputs {
    /// CSV files, in argument order then path order.
    pub entries: Vec<Entry>,
    /// Report paths of files that are not `.csv`: the platform skips them.
    pub unknown: Vec<String>,
    zips: Vec<Zip>,
}

/// Whether Canvas skips this path silently. Canvas's rule is
/// `/__macosx|desktop d[bf]|\A\..*/i` on the extracted path; we apply the dot rule to
/// every component, since a hidden folder's files are just as much Finder/Explorer debris.
pub fn ignored(rel: &str) -> bool {
    let lower = rel.to_lowercase();
    lower.contains("__macosx")
        || lower.contains("desktop db")
        || lower.contains("desktop df")
        || rel.split('/').any(|c| c.starts_with('.'))
}

/// Whether the platform would read this path as CSV (extension only, any case).
pub fn is_csv(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && ext.eq_ignore_ascii_case("csv"))
}

/// A path as the user typed it, `/`-separated, for messages and report paths.
fn shown(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// One file found under one argument, before report paths are made unique.
struct Found {
    arg: usize,
    rel: String,
    source: Option<Source>,
}

/// What an argument is.
enum ArgKind {
    Csv,
    Dir,
    Zip,
}

impl Inputs {
    /// Walks the arguments. Missing or unreadable paths and bad archives are errors:
    /// a partial report would look like a clean one.
    pub fn collect(args: &[PathBuf]) -> Result<Inputs, Error> {
        let mut zips = Vec::new();
        let mut found: Vec<Found> = Vec::new();
        // Prefixes used when two arguments yield the same relative path.
        let mut prefixes: Vec<Prefix> = Vec::new();
        for (n, arg) in args.iter().enumerate() {
            let display = shown(arg);
            let read_err = |source| Error::Read {
                path: display.clone(),
                source,
            };
            let meta = fs::metadata(arg).map_err(read_err)?;
            let name = arg
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| display.clone());
            let kind = if meta.is_dir() {
                ArgKind::Dir
            } else if looks_like_zip(arg).map_err(read_err)? {
                ArgKind::Zip
            } else {
                ArgKind::Csv
            };
            match kind {
                ArgKind::Csv => {
                    // A file named explicitly is checked whatever its extension: the user
                    // asked for it, and Canvas reads a single uploaded file as CSV.
                    found.push(Found {
                        arg: n,
                        rel: name.clone(),
                        source: Some(Source::File(arg.clone())),
                    });
                    // The file's own name is no help telling two files apart; its path is.
                    prefixes.push(Prefix::File(display.clone()));
                    continue;
                }
                ArgKind::Dir => walk(arg, n, &mut found)?,
                ArgKind::Zip => {
                    let file = File::open(arg).map_err(read_err)?;
                    let archive =
                        ZipArchive::new(BufReader::new(file)).map_err(|source| Error::Zip {
                            path: display.clone(),
                            source,
                        })?;
                    let z = zips.len();
                    for index in 0..archive.len() {
                        let Some(raw) = archive.name_for_index(index) else {
                            continue;
                        };
                        let raw = raw.map_err(|source| Error::Zip {
                            path: display.clone(),
                            source,
                        })?;
                        // ZIPs made on Windows sometimes use `\`; a leading `/` is not part
                        // of the name Canvas reports.
                        let rel = raw.replace('\\', "/").trim_start_matches('/').to_owned();
                        if rel.is_empty() || rel.ends_with('/') || ignored(&rel) {
                            continue;
                        }
                        let source = is_csv(&rel).then_some(Source::Zip { zip: z, index });
                        found.push(Found {
                            arg: n,
                            rel,
                            source,
                        });
                    }
                    zips.push(Zip {
                        display: display.clone(),
                        archive,
                    });
                }
            }
            prefixes.push(Prefix::Tree {
                name,
                full: display.trim_end_matches('/').to_owned(),
            });
        }
        let paths = unique_paths(&found, &prefixes);
        let mut entries = Vec::new();
        let mut unknown = Vec::new();
        for (f, path) in found.into_iter().zip(paths) {
            match f.source {
                Some(source) => entries.push(Entry { path, source }),
                None => unknown.push(path),
            }
        }
        Ok(Inputs {
            entries,
            unknown,
            zips,
        })
    }

    /// Opens entry `i` and hands a reader to `f`; I/O errors name the file.
    fn with_reader<T>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> Result<T, Error> {
        let entry = &self.entries[i];
        match &entry.source {
            Source::File(p) => {
                let err = |source| Error::Read {
                    path: shown(p),
                    source,
                };
                let mut file = File::open(p).map_err(err)?;
                f(&mut file).map_err(err)
            }
            Source::Zip { zip, index } => {
                let z = &mut self.zips[*zip];
                let err = |source| Error::ZipEntry {
                    zip: z.display.clone(),
                    entry: entry.path.clone(),
                    source,
                };
                let mut file = match z.archive.by_index(*index) {
                    Ok(file) => file,
                    Err(e) => return Err(err(io::Error::from(e))),
                };
                f(&mut file).map_err(err)
            }
        }
    }

    /// The first [`CHUNK`] bytes of entry `i` (fewer if the file is shorter).
    pub fn prefix(&mut self, i: usize, buf: &mut Vec<u8>) -> Result<(), Error> {
        buf.clear();
        self.with_reader(i, |r| r.take(CHUNK as u64).read_to_end(buf).map(|_| ()))
    }

    /// Streams entry `i` in chunks of at most [`CHUNK`] bytes until the end or until `f`
    /// returns `false`.
    pub fn for_each_chunk(
        &mut self,
        i: usize,
        mut f: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), Error> {
        self.with_reader(i, |r| {
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if !f(&buf[..n]) {
                    return Ok(());
                }
            }
        })
    }

    /// Index of the entry with this report path.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.path == path)
    }
}

/// A `.zip` extension, or ZIP magic bytes under another name (a download renamed `.dat`).
fn looks_like_zip(p: &Path) -> io::Result<bool> {
    if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        return Ok(true);
    }
    let mut magic = [0u8; 4];
    let mut file = File::open(p)?;
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06"))
}

/// Walks a folder (sorted, so the report does not depend on directory order), pruning
/// ignored folders.
fn walk(root: &Path, arg: usize, found: &mut Vec<Found>) -> Result<(), Error> {
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let err = |source| Error::Read {
            path: shown(&dir),
            source,
        };
        let mut children = Vec::new();
        for child in fs::read_dir(&dir).map_err(err)? {
            let child = child.map_err(err)?;
            children.push(child);
        }
        children.sort_by_key(|c| c.file_name());
        let mut subdirs = Vec::new();
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel_dir}{name}");
            if ignored(&rel) {
                continue;
            }
            let path = child.path();
            let ft = child.file_type().map_err(|source| Error::Read {
                path: shown(&path),
                source,
            })?;
            if ft.is_dir() {
                subdirs.push((path, format!("{rel}/")));
            } else if ft.is_symlink() {
                // Follow links to files, but not to folders: a link back up the tree would
                // loop forever, and an unpacked upload has no links anyway.
                match fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    _ => push_file(found, arg, rel, path),
                }
            } else {
                push_file(found, arg, rel, path);
            }
        }
        // Reversed so the stack pops them in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

fn push_file(found: &mut Vec<Found>, arg: usize, rel: String, path: PathBuf) {
    let source = is_csv(&rel).then_some(Source::File(path));
    found.push(Found { arg, rel, source });
}

/// How an argument prefixes its paths when they clash with another argument's.
#[derive(Debug)]
enum Prefix {
    /// A file argument: its path as given stands for it.
    File(String),
    /// A folder or ZIP: its name, or failing that its path as given.
    Tree { name: String, full: String },
}

/// Report paths: the relative path, unless another argument yields the same one; then the
/// argument's name, then its path as given, and as a last resort its position, tell them
/// apart.
fn unique_paths(found: &[Found], prefixes: &[Prefix]) -> Vec<String> {
    let candidate = |f: &Found, level: usize| -> String {
        match (&prefixes[f.arg], level) {
            (_, 0) => f.rel.clone(),
            (Prefix::File(full), 1 | 2) => full.clone(),
            (Prefix::Tree { name, .. }, 1) => format!("{name}/{}", f.rel),
            (Prefix::Tree { full, .. }, 2) => format!("{full}/{}", f.rel),
            (Prefix::File(full), _) => format!("{full}#{}", f.arg + 1),
            (Prefix::Tree { full, .. }, _) => format!("{full}/{}#{}", f.rel, f.arg + 1),
        }
    };
    let mut levels = vec![0usize; found.len()];
    let mut paths: Vec<String> = found.iter().map(|f| candidate(f, 0)).collect();
    for _ in 0..3 {
        let mut args_by_path: HashMap<&str, Vec<usize>> = HashMap::new();
        for (f, p) in found.iter().zip(&paths) {
            args_by_path.entry(p.as_str()).or_default().push(f.arg);
        }
        let clash: Vec<bool> = paths
            .iter()
            .map(|p| {
                args_by_path
                    .get(p.as_str())
                    .is_some_and(|a| a.iter().any(|&x| x != a[0]))
            })
            .collect();
        if !clash.contains(&true) {
            break;
        }
        for (i, f) in found.iter().enumerate() {
            if clash[i] {
                levels[i] += 1;
                paths[i] = candidate(f, levels[i]);
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_rules_follow_canvas() {
        assert!(ignored("__MACOSX/._users.csv"));
        assert!(ignored("sub/__macosx/x.csv"));
        assert!(ignored(".hidden.csv"));
        assert!(ignored("sub/.git/config"));
        assert!(ignored("Desktop DB"));
        assert!(ignored("desktop df"));
        assert!(!ignored("sub/users.csv"));
        assert!(!ignored("a.b/users.csv"));
    }

    #[test]
    fn csv_by_extension_any_case() {
        assert!(is_csv("users.csv"));
        assert!(is_csv("sub/USERS.CSV"));
        assert!(!is_csv("notes.txt"));
        assert!(!is_csv("dir.csv/readme"));
        assert!(!is_csv("csv"));
    }

    #[test]
    fn clashing_paths_get_the_argument_name() {
        let f = |arg, rel: &str| Found {
            arg,
            rel: rel.into(),
            source: Some(Source::Zip { zip: 0, index: 0 }),
        };
        let found = vec![f(0, "users.csv"), f(0, "terms.csv"), f(1, "users.csv")];
        let prefixes = vec![
            Prefix::Tree {
                name: "a.zip".into(),
                full: "x/a.zip".into(),
            },
            Prefix::Tree {
                name: "b".into(),
                full: "y/b".into(),
            },
        ];
        assert_eq!(
            unique_paths(&found, &prefixes),
            ["a.zip/users.csv", "terms.csv", "b/users.csv"]
        );
    }
}
