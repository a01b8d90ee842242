//! Ballista: the session configuration whose extension codecs carry the
//! meterprice functions to the scheduler and the executors.
//!
//! Ballista's scheduler and executors decode the plans they receive with
//! the codecs of their own session configuration. Give them (and the
//! client) [`session_config`]: a function bound to a charge then arrives
//! with its charge, and an unbound one is found by name, whether or not
//! the receiving side registered the meterprice functions.
//!
//! ```no_run
//! use ballista::prelude::SessionContextExt;
//! use datafusion::execution::SessionStateBuilder;
//! use datafusion::prelude::{SessionConfig, SessionContext};
//!
//! # async fn run() -> datafusion::error::Result<()> {
//! let config = meterprice_datafusion::ballista::session_config(SessionConfig::new());
//! let state = SessionStateBuilder::new()
//!     .with_config(config)
//!     .with_default_features()
//!     .build();
//! // An in-process scheduler and executor, both with the codecs.
//! let ctx = SessionContext::standalone_with_state(state).await?;
//! // The client's function list is Ballista's after the upgrade: register
//! // on the context it returns.
//! meterprice_datafusion::register(&ctx);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::prelude::SessionConfig;

use crate::codec::{LogicalCodec, PhysicalCodec};

/// The logical codec: meterprice's functions, then Ballista's own nodes.
pub fn logical_codec() -> LogicalCodec {
    LogicalCodec::new(Arc::new(BallistaLogicalExtensionCodec::default()))
}

/// The physical codec: meterprice's functions, then Ballista's own nodes.
pub fn physical_codec() -> PhysicalCodec {
    PhysicalCodec::new(Arc::new(BallistaPhysicalExtensionCodec::default()))
}

/// `config` with both codecs set, for the client, the scheduler and the
/// executors.
pub fn session_config(config: SessionConfig) -> SessionConfig {
    config
        .with_ballista_logical_extension_codec(Arc::new(logical_codec()))
        .with_ballista_physical_extension_codec(Arc::new(physical_codec()))
}
