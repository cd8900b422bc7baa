//! What the machine holds for a lab: the kernel's view (observed) and netlab's index of what
//! it made (the record under /run/netlab/LAB). Plain data: nothing here reads the kernel.

pub mod compact;
pub mod event;
pub mod ns;
pub mod observed;
pub mod overrides;
pub mod own;
pub mod procs;
pub mod record;
pub mod workload;

pub use compact::{CompactMap, CompactSet};
pub use ns::VETH_DEFAULT_MTU;
pub use ns::{
    default_metric, kernel_metric, IfKind, IfState, NetState, NextHop, NsState, RouteState, Unmanaged,
};
pub use observed::{Observed, TeardownView};
pub use overrides::Overrides;
pub use procs::{NodeProcs, ProcsState};
pub use record::Record;
pub use workload::WorkloadState;
