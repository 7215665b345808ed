//! The request driver: how the requests of an admin call ([`Op`]) are
//! submitted onto a private result queue and their result events awaited,
//! within the call's timeout and in-flight limit.

use std::time::{Duration, Instant};

use rdkafka_sys as rd;

use super::client::Admin;
use super::error::AdminError;
use super::guards::{Event, MAX_REQUEST_TIMEOUT_MS, Options, Queue};
use super::op::Op;

/// librdkafka reports its own timeout as a result event once the request
/// timeout expires; the extra wait lets that (more specific) event arrive
/// before we give up on the queue ourselves.
pub(super) const POLL_GRACE: Duration = Duration::from_secs(2);

/// Upper bound on events drained from the main queue per call, so a flood of
/// log lines can never stall an admin call.
const MAX_MAIN_QUEUE_DRAIN: usize = 10_000;

impl Admin {
    /// Single-request form of [`Admin::run`]: returns the result event, or the
    /// request-level error it carries.
    pub(super) fn run_one<'a>(
        &'a self,
        op: Op,
        timeout: Duration,
        submit: impl FnOnce(&Options, &Queue) -> Result<(), AdminError>,
    ) -> Result<Event<'a>, AdminError> {
        let mut submit = Some(submit);
        let mut result = None;
        self.run(
            op,
            1,
            1,
            timeout,
            |_, options, queue| match submit.take() {
                Some(submit) => submit(options, queue),
                None => Err(op.internal("request submitted twice")),
            },
            |_, event| result = Some(event),
        )?;
        let event = result.ok_or(AdminError::Timeout {
            op: op.name,
            timeout,
        })?;
        match event.error() {
            Some((code, message)) => Err(AdminError::Kafka {
                op: op.name,
                code,
                message,
            }),
            None => Ok(event),
        }
    }

    /// Submits `count` requests (request `n` via `submit(n, ..)`) onto one
    /// fresh private queue, keeping at most `max_in_flight` outstanding, and
    /// hands each result event to `on_result(n, event)`.
    ///
    /// `timeout` bounds the whole batch: each request gets the time left as
    /// its librdkafka request timeout, and requests not yet submitted when it
    /// runs out are never sent. Requests without a result are simply never
    /// passed to `on_result`; the caller decides what that means.
    pub(super) fn run<'a>(
        &'a self,
        op: Op,
        count: usize,
        max_in_flight: usize,
        timeout: Duration,
        mut submit: impl FnMut(usize, &Options, &Queue) -> Result<(), AdminError>,
        mut on_result: impl FnMut(usize, Event<'a>),
    ) -> Result<(), AdminError> {
        self.drain_main_queue();
        if count == 0 {
            return Ok(());
        }
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        let give_up = deadline.and_then(|d| d.checked_add(POLL_GRACE));

        let queue = Queue::new(op, self)?;
        let options = Options::new(op, self)?;
        if op.api == rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS {
            // High watermark rather than last stable offset: lag must count
            // messages of open transactions too, as kafka-consumer-groups does.
            options.set_isolation_level(
                op,
                rd::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED,
            )?;
        }

        let max_in_flight = max_in_flight.clamp(1, count);
        let mut done = vec![false; count];
        let mut next = 0usize;
        let mut in_flight = 0usize;
        loop {
            while in_flight < max_in_flight && next < count {
                let remaining = match deadline {
                    Some(d) => d.saturating_duration_since(Instant::now()),
                    None => timeout,
                };
                if remaining.is_zero() && next > 0 {
                    break;
                }
                options.set_request_timeout(op, remaining)?;
                // The opaque carries the request index back on the result
                // event; AdminOptions are copied at submission, so reusing
                // one object for every request is fine.
                options.set_opaque(next);
                submit(next, &options, &queue)?;
                next += 1;
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let wait = match give_up {
                Some(g) => g.saturating_duration_since(Instant::now()),
                None => Duration::from_millis(MAX_REQUEST_TIMEOUT_MS as u64),
            };
            if wait.is_zero() {
                tracing::debug!(
                    target: "pipetop::kafka::admin",
                    "{}: {in_flight} request(s) without result after {:?}",
                    op.name,
                    start.elapsed()
                );
                break;
            }
            let Some(event) = queue.poll(wait) else {
                continue;
            };
            if event.kind() != op.event {
                tracing::debug!(
                    target: "pipetop::kafka::admin",
                    "{}: ignoring unexpected event type {}",
                    op.name,
                    event.kind()
                );
                continue;
            }
            let n = event.opaque();
            match done.get_mut(n) {
                Some(d) if !*d => *d = true,
                _ => {
                    tracing::debug!(
                        target: "pipetop::kafka::admin",
                        "{}: ignoring result for unknown request {n}",
                        op.name
                    );
                    continue;
                }
            }
            in_flight -= 1;
            on_result(n, event);
        }
        Ok(())
        // `queue` is destroyed here even if requests are still outstanding:
        // librdkafka disables a queue whose owner destroyed it and discards
        // late results instead of delivering them to freed memory.
    }

    /// rdkafka routes librdkafka's log lines and error events to the main
    /// queue, but an `AdminClient` never polls it, so in a long-running
    /// process they would pile up forever. Forward them to `tracing` instead.
    pub(super) fn drain_main_queue(&self) {
        let Some(main) = Queue::main(self) else {
            return;
        };
        for _ in 0..MAX_MAIN_QUEUE_DRAIN {
            let Some(event) = main.poll(Duration::ZERO) else {
                break;
            };
            if let Some((code, message)) = event.forward_to_tracing() {
                self.note_error(code, &message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;

    #[test]
    fn main_queue_is_drained() {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("log_level", "7")
            .set("debug", "broker");
        let admin = Admin::new(&config).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        let main = Queue::main(&admin).unwrap();
        // SAFETY: `main` is a live queue guard, borrowed by the closure for as
        // long as the closure exists; the call only reads its length.
        let queued = || unsafe { rd::rd_kafka_queue_length(main.ptr()) };
        let before = queued();
        admin.drain_main_queue();
        let after = queued();
        assert!(
            before > 0 && after < before,
            "before {before}, after {after}"
        );
    }
}
