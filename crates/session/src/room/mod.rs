//! The room-facts layer: what any LiveKit SDK reports ([`facts`]) and LiveKit's protocol
//! values ([`protocol`]).

pub(crate) mod facts;
pub(crate) mod protocol;
