//! The owned client handle: [`Admin`], its construction and the raw
//! librdkafka handle the other files of this module submit requests on.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rd;

use super::error::{AdminError, creation_error};
use crate::kafka::connect_failure::{Identity, broker_of, classify};
use crate::kafka::tls_verify::verify_error;

/// Read-only admin queries against one Kafka cluster.
///
/// `Admin` is `Send + Sync` without any `unsafe impl`: it holds only the
/// rdkafka `AdminClient`, whose librdkafka handle is documented as fully
/// thread-safe (rdkafka itself marks it `Send + Sync`). Each call creates its
/// own private result queue and options object, so concurrent calls from
/// several threads never share mutable librdkafka state.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
    /// Who this client connects as (non-secret properties only), to name a failure's cause.
    pub(super) identity: Identity,
    /// The last authentication or TLS failure librdkafka reported (see `connect_failure`),
    /// until [`Admin::clear_connect_failure`].
    /// Keyed by the error code and broker, to tell a repeat from a new failure.
    connect_failure: Mutex<Option<(String, String)>>,
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
        Ok(Admin {
            client,
            identity: Identity::of(config),
            connect_failure: Mutex::new(None),
        })
    }

    /// Who this client connects as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The authentication or TLS failure librdkafka reported since the last
    /// [`Admin::clear_connect_failure`], as one sentence (see `connect_failure`).
    pub fn connect_failure(&self) -> Option<String> {
        self.drain_main_queue();
        self.connect_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(_, sentence)| sentence.clone())
    }

    /// Forgets the last failure: the cluster answered since.
    pub fn clear_connect_failure(&self) {
        *self
            .connect_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
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

    /// Records an error event of librdkafka's when it is an authentication or TLS failure. The
    /// same failure of the same broker again (every reconnect repeats it) is not looked into
    /// again: a refused certificate costs one handshake of our own (`tls_verify`), not one per
    /// reconnect.
    pub(super) fn note_error(&self, code: RDKafkaErrorCode, message: &str) {
        // A failure without a broker (an OIDC token endpoint's) is told apart by its text:
        // librdkafka reports it again only when it changed.
        let key = match broker_of(message) {
            Some(broker) => format!("{code:?} {broker}"),
            None => format!("{code:?} {message}"),
        };
        let mut slot = self
            .connect_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let ca = self.identity.ca.as_deref();
        if let Some(sentence) = classify(code, message, &self.identity, |broker| {
            verify_error(broker, ca, TLS_CHECK_TIMEOUT)
        }) {
            *slot = Some((key, sentence));
        }
    }
}

/// The limit of `tls_verify`'s own handshake, well inside any request timeout.
const TLS_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
