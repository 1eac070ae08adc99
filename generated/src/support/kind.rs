//! The typed link from an image kind to the messages its entries hold.

use crate::schema::kinds::Kind;

/// A message type that image entries hold, implemented by the view (`view::CoreEntry<'a>`) and the
/// owned message (`owned::CoreEntry`) of every kind's entry message, so that typed access can be
/// checked against an image's kind:
///
/// ```
/// use criu_image_proto::{KindEntry, kinds::Kind, view};
/// assert_eq!(<view::CoreEntry<'_> as KindEntry>::KINDS, &[Kind::Core]);
/// // One message, two kinds: pipe and FIFO data.
/// assert!(<view::PipeDataEntry<'_> as KindEntry>::is_entry_of(Kind::FifoData));
/// assert!(!<view::PipeDataEntry<'_> as KindEntry>::is_entry_of(Kind::Core));
/// // The pagemap head is entry 0 of a pagemap image, not its entry message.
/// assert_eq!(<view::PagemapHead<'_> as KindEntry>::AUX_OF, &[Kind::Pagemap]);
/// ```
pub trait KindEntry {
    /// The kinds whose entries are this message, in `proto/kinds.toml` order (several kinds
    /// share one message: `PIPES_DATA` and `FIFO_DATA` hold `pipe_data_entry`).
    const KINDS: &'static [Kind];
    /// The kinds whose payload rule uses this message besides their entry message: the pagemap
    /// head (entry 0 of a pagemap image), a ghost file's chunks, a SysV message queue's messages.
    const AUX_OF: &'static [Kind];

    /// Whether images of `kind` hold this message as their entries.
    fn is_entry_of(kind: Kind) -> bool {
        Self::KINDS.contains(&kind)
    }
}
