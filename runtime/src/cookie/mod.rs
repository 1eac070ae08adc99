//! File-content cookies (placeholder).
