//! @generated placeholder, replaced by `cargo xtask regen`
pub mod view {}
pub mod owned {}
