//! Per-field glue for generated code.
