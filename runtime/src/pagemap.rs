//! What a pagemap entry means, in one place for every reader and writer: the `PE_*` flags
//! (`criu/include/pagemap.h`) and CRIU's compat rules for images older than 4.2
//! (`init_compat_pagemap_entry`).

use criu_image_proto::flags::PageFlags;
use criu_image_proto::view::PagemapEntry;

/// The page size of CRIU's x86-64 images: a pagemap entry's `nr_pages` counts these, and
/// `pages-<id>.img` is a run of them (crit hard-codes it too).
pub const PAGE_SIZE: u64 = 4096;

/// Pages are in the parent dump (`--prev-images-dir`); no data here.
pub const PE_PARENT: u32 = PageFlags::PARENT.bits();
/// Pages may be restored lazily (from a page server).
pub const PE_LAZY: u32 = PageFlags::LAZY.bits();
/// Pages are in this dump's `pages-<pages_id>.img`.
pub const PE_PRESENT: u32 = PageFlags::PRESENT.bits();

/// `flags` as CRIU reads them: an old image's `in_parent` adds `PE_PARENT`; otherwise an entry
/// without `flags` is present.
pub fn flags(e: &PagemapEntry<'_>) -> u32 {
    match (e.in_parent(), e.flags()) {
        (Some(true), f) => f.unwrap_or(0) | PE_PARENT,
        (_, Some(f)) => f,
        (_, None) => PE_PRESENT,
    }
}

/// The page count as CRIU reads it: `nr_pages` (field 5, CRIU 4.2+) when present, else
/// `compat_nr_pages` (field 2).
pub fn nr_pages(e: &PagemapEntry<'_>) -> u64 {
    e.nr_pages().unwrap_or(u64::from(e.compat_nr_pages()))
}
