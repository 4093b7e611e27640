//! Watershed: not written yet (placeholder so the crate builds; see issue 5).

use super::{Platform, Status, Upload};
use crate::config::Loaded;
use crate::error::Error;
use crate::http::Http;

/// The Watershed flow.
#[derive(Debug)]
pub struct Watershed;

impl Watershed {
    /// Not written yet.
    pub fn new(_profile: &Loaded, _http: Http) -> Result<Watershed, Error> {
        Err(Error::Usage(
            "submitting to watershed is not implemented yet".into(),
        ))
    }

    /// Lists imports (`GET /api/organizations/{org}/csv-import`).
    pub fn list(&mut self) -> Result<Vec<super::Listed>, Error> {
        Err(Error::Usage("not implemented yet".into()))
    }

    /// Voids an import.
    pub fn void(&mut self, _id: &str) -> Result<(), Error> {
        Err(Error::Usage("not implemented yet".into()))
    }

    /// Server-side preview: failed rows as problems.
    pub fn preview(&mut self, _upload: &Upload) -> Result<Status, Error> {
        Err(Error::Usage("not implemented yet".into()))
    }
}

impl Platform for Watershed {
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
