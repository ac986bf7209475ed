//! Sans-IO producer core (the sender) of ferrokafka.
//!
//! Not implemented yet: this crate is a placeholder that later issues fill.

#![forbid(unsafe_code)]
