//! The operations behind the commands and the library: each is generic over one
//! [`System`](crate::backend::System), so the real machine and the in-memory fake run the same
//! code. Nothing here names `sys::`.

pub mod apply;
pub mod bind;
pub mod capture;
pub mod down;
pub mod events;
pub mod exec;
pub mod exec_many;
pub mod live;
pub mod load;
pub mod running;
pub mod scenario;
pub mod status;
pub mod test;
pub mod up;

#[cfg(test)]
mod bind_tests;
#[cfg(test)]
mod capture_tests;
#[cfg(test)]
mod events_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;
