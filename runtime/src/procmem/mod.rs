//! Live process memory reader (placeholder).
