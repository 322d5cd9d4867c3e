//! The netlink connection: `rtnetlink` hands back a future that drives the socket,
//! which must run on its own task for any request to complete. The task is owned by
//! the executor and aborted when it is dropped, so no connection outlives its user.

use rtnetlink::Handle;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::exec::ExecError;

/// Aborts the connection task on drop (what `tokio_util`'s `AbortOnDropHandle` does;
/// that crate is not a dependency of the agent).
pub(super) struct ConnectionTask(JoinHandle<()>);

impl Drop for ConnectionTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens a route netlink socket and spawns its driver on the current runtime.
pub(super) fn open(interface: &str) -> Result<(Handle, ConnectionTask), ExecError> {
    const WHAT: &str = "opening a netlink connection for routes";
    // Checked first so a caller outside a runtime gets an error rather than a panic.
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| ExecError::new(WHAT, format!("no tokio runtime: {e}")))?;
    let (connection, handle, _multicast) =
        rtnetlink::new_connection().map_err(|e| ExecError::new(WHAT, e))?;
    let span = tracing::debug_span!("netlink_routes", interface = %interface);
    let task = runtime.spawn(connection.instrument(span));
    Ok((handle, ConnectionTask(task)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_guard_stops_the_task() {
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        // The task holds the sender forever unless aborted, which drops it.
        let task = ConnectionTask(tokio::spawn(async move {
            let _sender = sender;
            std::future::pending::<()>().await;
        }));
        drop(task);
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(5), receiver).await;
        assert!(
            matches!(outcome, Ok(Err(_))),
            "the task still runs after its guard was dropped"
        );
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let Err(error) = open("cmt-wg0") else {
            panic!("a connection without a runtime");
        };
        assert!(error.to_string().contains("no tokio runtime"), "{error}");
    }
}
