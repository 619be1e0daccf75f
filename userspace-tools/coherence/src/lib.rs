//! A cache-coherence model of the guest's memory accesses, the pure part
//! of the QEMU plugin in `coherence-plugin`, and the guest's switch of
//! the measured window.  See Documentation/coherence.rst.

pub mod model;
pub mod report;
pub mod symbols;
pub mod window;

pub use model::{Access, Counts, Model, Transfer};
pub use report::Report;
pub use symbols::Symbols;
pub use window::Command;
