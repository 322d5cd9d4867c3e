//! The drill's calls to one apiserver: RunProbes, InjectFault and ClearFault, with
//! failures in the operator's terms like every other call ([`CtlError::Api`]).
//!
//! Its own channel rather than [`crate::client::Admin`]'s: that one carries a request
//! timeout, and a probe run's response stream must outlive any request timeout. Unary
//! calls are bounded here instead.

use std::time::Duration;

use clustermesh_proto::{client_config::Context, pb};
use tonic::{Streaming, transport::Channel};

use crate::{
    client::{Timeouts, probe},
    error::{Cause, CtlError},
};

/// Bounds the certificate probe run when a call fails for no stated reason.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct DrillApi {
    context: Context,
    name: String,
    address: String,
    request: Duration,
    client: pb::admin_client::AdminClient<Channel>,
}

impl DrillApi {
    pub async fn connect(context: &Context, timeouts: Timeouts) -> Result<Self, CtlError> {
        let name = context.name.to_string();
        let address = context.server.to_string();
        let endpoint = context.endpoint()?.connect_timeout(timeouts.connect);
        let channel = endpoint.connect().await.map_err(|e| CtlError::Api {
            context: name.clone(),
            address: address.clone(),
            call: "connect",
            cause: Cause::of_transport(&e),
        })?;
        Ok(Self {
            context: context.clone(),
            name,
            address,
            request: timeouts.request,
            client: pb::admin_client::AdminClient::new(channel),
        })
    }

    pub fn context(&self) -> &str {
        &self.name
    }

    /// `status` in the operator's terms; a connection dropped for no stated reason is
    /// probed once, since it is usually our certificate being rejected.
    pub async fn error(&self, call: &'static str, status: &tonic::Status) -> CtlError {
        let mut cause = Cause::of_status(status);
        if let Cause::Transport(_) = cause
            && let Some(rejected) = probe::certificate_rejection(&self.context, PROBE_TIMEOUT).await
        {
            cause = rejected;
        }
        CtlError::Api {
            context: self.name.clone(),
            address: self.address.clone(),
            call,
            cause,
        }
    }

    fn timed_out(&self, call: &'static str) -> CtlError {
        CtlError::Api {
            context: self.name.clone(),
            address: self.address.clone(),
            call,
            cause: Cause::TimedOut,
        }
    }

    async fn unary<T>(
        &self,
        call: &'static str,
        answer: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, CtlError> {
        match tokio::time::timeout(self.request, answer).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(self.error(call, &status).await),
            Err(_) => Err(self.timed_out(call)),
        }
    }

    /// The run's reports; dropping the stream stops the run at the agent.
    pub async fn run_probes(
        &self,
        request: pb::RunProbesRequest,
    ) -> Result<Streaming<pb::ProbeReport>, CtlError> {
        let mut client = self.client.clone();
        self.unary("RunProbes", client.run_probes(request)).await
    }

    pub async fn inject_fault(
        &self,
        request: pb::InjectFaultRequest,
    ) -> Result<pb::InjectFaultResponse, CtlError> {
        let mut client = self.client.clone();
        self.unary("InjectFault", client.inject_fault(request))
            .await
    }

    /// How many faults were cleared; `fault_id` 0 clears every fault.
    pub async fn clear_fault(&self, fault_id: u64) -> Result<u32, CtlError> {
        let mut client = self.client.clone();
        let request = pb::ClearFaultRequest { fault_id };
        Ok(self
            .unary("ClearFault", client.clear_fault(request))
            .await?
            .cleared)
    }
}
