pub mod kind;
pub use kind::{GatewayKind, PayMethod};
