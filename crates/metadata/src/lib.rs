//! Sans-IO cluster metadata discovery for the ferrokafka producer.
//!
//! Not implemented yet: this crate is a placeholder that later issues fill.

#![forbid(unsafe_code)]
