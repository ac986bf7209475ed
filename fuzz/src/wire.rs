//! Fuzz entry points for `ferrokafka-wire`.

use crate::Target;

/// The wire crate's fuzz targets.
pub const TARGETS: &[Target] = &[];
