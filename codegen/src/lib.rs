//! Code generator.
