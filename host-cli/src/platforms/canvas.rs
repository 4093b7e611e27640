//! Canvas: not written yet (placeholder so the crate builds; see issue 5).

use super::{Platform, Status, Upload};
use crate::config::Loaded;
use crate::error::Error;
use crate::http::Http;

/// The Canvas flow.
#[derive(Debug)]
pub struct Canvas;

impl Canvas {
    /// Not written yet.
    pub fn new(_profile: &Loaded, _http: Http) -> Result<Canvas, Error> {
        Err(Error::Usage(
            "submitting to canvas is not implemented yet".into(),
        ))
    }

    /// Lists imports (`GET …/sis_imports`).
    pub fn list(&mut self) -> Result<Vec<super::Listed>, Error> {
        Err(Error::Usage("not implemented yet".into()))
    }

    /// Aborts an import (`PUT …/sis_imports/:id/abort`).
    pub fn abort(&mut self, _id: &str) -> Result<Status, Error> {
        Err(Error::Usage("not implemented yet".into()))
    }
}

impl Platform for Canvas {
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
