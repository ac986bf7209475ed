//! Fuzz entry points for `ferrokafka-records` (batch decoding and every decompressor).

use crate::Target;

/// The records crate's fuzz targets.
pub const TARGETS: &[Target] = &[];
