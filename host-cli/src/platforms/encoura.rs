//! Encoura: not written yet (placeholder so the crate builds; see issue 5).

use super::{Platform, Status, Upload};
use crate::config::Loaded;
use crate::error::Error;
use crate::http::Http;

/// The Encoura flow.
#[derive(Debug)]
pub struct Encoura;

impl Encoura {
    /// Not written yet.
    pub fn new(_profile: &Loaded, _http: Http) -> Result<Encoura, Error> {
        Err(Error::Usage(
            "submitting to encoura is not implemented yet".into(),
        ))
    }

    /// Export files not yet delivered.
    pub fn exports(&mut self, _product: Option<&str>) -> Result<Vec<super::Listed>, Error> {
        Err(Error::Usage("not implemented yet".into()))
    }

    /// Downloads every export file not yet delivered into `dir`; one line per file.
    pub fn download(
        &mut self,
        _dir: &std::path::Path,
        _product: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        Err(Error::Usage("not implemented yet".into()))
    }
}

impl Platform for Encoura {
    fn submit(&mut self, _upload: &Upload) -> Result<String, Error> {
        unreachable!()
    }
    fn status(&mut self, _id: &str) -> Result<Status, Error> {
        unreachable!()
    }
    fn describe(&self, _upload: &Upload) -> Vec<String> {
        Vec::new()
    }
}
