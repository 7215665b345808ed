//! The owned client handle: [`Admin`], its construction and the raw
//! librdkafka handle the other files of this module submit requests on.

use std::fmt;

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka_sys as rd;

use super::error::{AdminError, creation_error};

/// Read-only admin queries against one Kafka cluster.
///
/// `Admin` is `Send + Sync` without any `unsafe impl`: it holds only the
/// rdkafka `AdminClient`, whose librdkafka handle is documented as fully
/// thread-safe (rdkafka itself marks it `Send + Sync`). Each call creates its
/// own private result queue and options object, so concurrent calls from
/// several threads never share mutable librdkafka state.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Admin>();
};

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config is deliberately not printed: it may hold credentials.
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// Build from a ready `rdkafka::ClientConfig` (bootstrap.servers + any user
    /// librdkafka properties).
    ///
    /// Does not contact the cluster; connection problems surface on the first call.
    pub fn new(config: &ClientConfig) -> Result<Admin, AdminError> {
        let client = config
            .create::<AdminClient<DefaultClientContext>>()
            .map_err(|e| creation_error(e, config))?;
        Ok(Admin { client })
    }

    /// The underlying rdkafka client, for what its safe API does offer
    /// (e.g. metadata) over the same connections.
    pub fn client(&self) -> &AdminClient<DefaultClientContext> {
        &self.client
    }

    /// The librdkafka handle of `client`: valid as long as `self` is (the
    /// `AdminClient` owns it and destroys it only on drop).
    pub(super) fn rk(&self) -> *mut rd::rd_kafka_t {
        self.client.inner().native_ptr()
    }
}
