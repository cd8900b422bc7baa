//! What the machine holds for a lab: the kernel's view (observed) and netlab's index of what
//! it made (the record under /run/netlab/LAB).

pub mod observed;
pub mod record;

pub use observed::Observed;
pub use record::Record;
