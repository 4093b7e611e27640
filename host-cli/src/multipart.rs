//! `multipart/form-data` (RFC 7578): the writer `submit` streams uploads with, and the
//! parser the sandbox reads them with.
//!
//! Hand-written because the platforms need what generic encoders do not promise: parts in
//! exactly the given order (an S3 presigned POST ignores fields after the file), a file
//! streamed from disk with an exact `Content-Length` (S3 refuses chunked bodies), and the
//! same body rebuilt for a retry.
//!
//! ```ignore
//! let form = Form::new().text("type", "district").file("csvFile", path, "locations.csv", "text/csv");
//! let (len, reader) = form.body()?;
//! ```

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::PathBuf;

/// One part of a form.
#[derive(Clone, Debug)]
enum Body {
    Text(String),
    File {
        path: PathBuf,
        file_name: String,
        content_type: String,
    },
}

/// A form, in part order.
#[derive(Clone, Debug)]
pub struct Form {
    boundary: String,
    parts: Vec<(String, Body)>,
}

impl Default for Form {
    fn default() -> Self {
        Form::new()
    }
}

impl Form {
    /// An empty form with a random boundary (a random boundary cannot occur in the CSV by
    /// accident, which is what Watershed's documentation warns about).
    pub fn new() -> Form {
        let mut rng = fastrand::Rng::new();
        let tail: String = (0..24).map(|_| rng.alphanumeric()).collect();
        Form {
            boundary: format!("preflight-{tail}"),
            parts: Vec::new(),
        }
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Form {
        self.parts
            .push((name.to_owned(), Body::Text(value.to_owned())));
        self
    }

    /// Adds a file, streamed from `path` when the body is read.
    pub fn file(mut self, name: &str, path: PathBuf, file_name: &str, content_type: &str) -> Form {
        self.parts.push((
            name.to_owned(),
            Body::File {
                path,
                file_name: file_name.to_owned(),
                content_type: content_type.to_owned(),
            },
        ));
        self
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The exact body length and a fresh reader over the body (files are opened now).
    pub fn body(&self) -> io::Result<(u64, Box<dyn Read + Send + Sync>)> {
        let mut len = 0u64;
        let mut reader: Box<dyn Read + Send + Sync> = Box::new(io::empty());
        let mut chain = |r: Box<dyn Read + Send + Sync>, n: u64| {
            len += n;
            let prev = std::mem::replace(&mut reader, Box::new(io::empty()));
            reader = Box::new(prev.chain(r));
        };
        for (name, body) in &self.parts {
            let name = quote(name);
            match body {
                Body::Text(v) => {
                    let s = format!(
                        "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{v}\r\n",
                        self.boundary
                    );
                    let n = s.len() as u64;
                    chain(Box::new(Cursor::new(s.into_bytes())), n);
                }
                Body::File {
                    path,
                    file_name,
                    content_type,
                } => {
                    let head = format!(
                        "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n\r\n",
                        self.boundary,
                        quote(file_name)
                    );
                    let file = File::open(path)?;
                    let size = file.metadata()?.len();
                    let n = head.len() as u64;
                    chain(Box::new(Cursor::new(head.into_bytes())), n);
                    // `take` so that a file growing under us cannot break the length we sent.
                    chain(Box::new(file.take(size)), size);
                    chain(Box::new(Cursor::new(b"\r\n".to_vec())), 2);
                }
            }
        }
        let end = format!("--{}--\r\n", self.boundary);
        let n = end.len() as u64;
        chain(Box::new(Cursor::new(end.into_bytes())), n);
        Ok((len, reader))
    }
}

/// Escapes `"` and line breaks in a disposition parameter (RFC 7578 §4.2, as browsers do).
fn quote(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A part read back by [`parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The `name` parameter.
    pub name: String,
    /// The `filename` parameter, for file parts.
    pub file_name: Option<String>,
    /// The part's `Content-Type`, when given.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Parses a `multipart/form-data` body; `None` when it is not well-formed.
pub fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, &delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        pos += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = std::str::from_utf8(body.get(pos..head_end)?).ok()?;
        let next = find(body, &[b"\r\n".as_slice(), &delim].concat(), head_end + 4)?;
        let mut part = Part {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: body[head_end + 4..next].to_vec(),
        };
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                for p in v.split(';').map(str::trim) {
                    if let Some(n) = p.strip_prefix("name=") {
                        part.name = n.trim_matches('"').to_owned();
                    } else if let Some(n) = p.strip_prefix("filename=") {
                        part.file_name = Some(n.trim_matches('"').to_owned());
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.trim().to_owned());
            }
        }
        parts.push(part);
        pos = next + 2 + delim.len();
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_and_exact_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.csv");
        std::fs::write(&path, "a,b\r\n1,2\r\n").unwrap();
        let form = Form::new()
            .text("key", "org/enrollment/u.csv")
            .text("policy", "eyJ\"x")
            .file("file", path, "u.csv", "text/csv");
        let (len, mut r) = form.body().unwrap();
        let mut body = Vec::new();
        r.read_to_end(&mut body).unwrap();
        assert_eq!(len, body.len() as u64);
        let parts = parse(&form.content_type(), &body).unwrap();
        let names: Vec<_> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["key", "policy", "file"]);
        assert_eq!(parts[2].data, b"a,b\r\n1,2\r\n");
        assert_eq!(parts[2].file_name.as_deref(), Some("u.csv"));
        assert_eq!(parts[1].data, b"eyJ\"x");
        assert!(parse("multipart/form-data; boundary=zz", &body).is_none());
    }
}
