//! Built-in targets. Each is plain data (a [`Target`]); nothing here is consulted by the
//! validator loop except through that data.
//!
//! ```
//! let names: Vec<&str> = validator_core::targets::NAMES.to_vec();
//! assert!(names.contains(&"canvas"));
//! assert!(validator_core::targets::builtin("canvas").is_some());
//! ```

mod canvas;
mod oneroster;
mod rule;
pub mod sunbird;
pub mod watermark;
pub mod watershed;

pub use canvas::{canvas, canvas_batch_scope};
pub use oneroster::oneroster;
pub use sunbird::sunbird;
pub use watermark::watermark;

use crate::schema::Target;

/// Names of the built-in targets.
pub const NAMES: &[&str] = &["canvas", "watermark", "sunbird", "oneroster"];

/// A built-in target by name.
pub fn builtin(name: &str) -> Option<Target> {
    match name {
        "canvas" => Some(canvas()),
        "watermark" => Some(watermark()),
        "sunbird" => Some(sunbird()),
        "oneroster" => Some(oneroster()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_target_compiles() {
        for name in NAMES {
            let t = builtin(name).unwrap();
            assert_eq!(t.name, *name);
            crate::Session::new(t).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
