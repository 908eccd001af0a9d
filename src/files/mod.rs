//! Every file a script touches goes through here: the session's file-system policy
//! ([`policy`]), bounded reads ([`read`]) and atomic writes ([`write`]).

pub mod policy;
pub mod read;
pub mod write;

pub use policy::{Access, FsPolicy};
pub use read::{open, read, read_capped, read_dir, read_to_string};
pub use write::{create_dir_all, write_atomic, write_atomic_with};
