pub use dltrs_core::*;
