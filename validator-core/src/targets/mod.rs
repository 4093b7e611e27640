//! Built-in targets. Each is plain data (a [`Target`]); nothing here is consulted by the
//! validator loop except through that data.
//!
//! ```
//! let names: Vec<&str> = validator_core::targets::NAMES.to_vec();
//! assert!(names.contains(&"canvas"));
//! assert!(validator_core::targets::builtin("canvas").is_some());
//! ```

mod canvas;
mod rule;

pub use canvas::canvas;

use crate::schema::Target;

/// Names of the built-in targets.
pub const NAMES: &[&str] = &["canvas"];

/// A built-in target by name.
pub fn builtin(name: &str) -> Option<Target> {
    match name {
        "canvas" => Some(canvas()),
        _ => None,
    }
}
