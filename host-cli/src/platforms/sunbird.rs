//! Sunbird: not written yet (placeholder so the crate builds; see issue 5).

use super::{Platform, Status, Upload};
use crate::config::Loaded;
use crate::error::Error;
use crate::http::Http;

/// The Sunbird flow.
#[derive(Debug)]
pub struct Sunbird;

impl Sunbird {
    /// Not written yet.
    pub fn new(_profile: &Loaded, _http: Http) -> Result<Sunbird, Error> {
        Err(Error::Usage(
            "submitting to sunbird is not implemented yet".into(),
        ))
    }
}

impl Platform for Sunbird {
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
