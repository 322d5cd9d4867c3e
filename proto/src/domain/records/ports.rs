use std::{collections::BTreeSet, num::NonZeroU16};

use super::Protocol;
use crate::{
    DnsLabel, ValidationError,
    domain::port::parse_port,
    error::{ResultExt, ValidationErrorKind},
    pb,
};

/// A port of a service VIP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServicePort {
    /// Required when the service has more than one port.
    pub name: Option<DnsLabel>,
    pub port: NonZeroU16,
    pub protocol: Protocol,
}

/// A port on a backend, matched to a [`ServicePort`] by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendPort {
    pub name: Option<DnsLabel>,
    pub port: NonZeroU16,
    pub protocol: Protocol,
}

type PortParts = (Option<DnsLabel>, NonZeroU16, Protocol);

fn parse_parts(name: String, port: u32, protocol: i32) -> Result<PortParts, ValidationError> {
    let name = if name.is_empty() {
        None
    } else {
        Some(DnsLabel::new(name).at("name")?)
    };
    Ok((
        name,
        parse_port(port).at("port")?,
        Protocol::try_from(protocol).at("protocol")?,
    ))
}

impl TryFrom<pb::ServicePort> for ServicePort {
    type Error = ValidationError;

    fn try_from(msg: pb::ServicePort) -> Result<Self, Self::Error> {
        let (name, port, protocol) = parse_parts(msg.name, msg.port, msg.protocol)?;
        Ok(Self {
            name,
            port,
            protocol,
        })
    }
}

impl From<ServicePort> for pb::ServicePort {
    fn from(p: ServicePort) -> Self {
        Self {
            name: p.name.map(Into::into).unwrap_or_default(),
            port: p.port.get().into(),
            protocol: pb::Protocol::from(p.protocol).into(),
        }
    }
}

impl TryFrom<pb::BackendPort> for BackendPort {
    type Error = ValidationError;

    fn try_from(msg: pb::BackendPort) -> Result<Self, Self::Error> {
        let (name, port, protocol) = parse_parts(msg.name, msg.port, msg.protocol)?;
        Ok(Self {
            name,
            port,
            protocol,
        })
    }
}

impl From<BackendPort> for pb::BackendPort {
    fn from(p: BackendPort) -> Self {
        Self {
            name: p.name.map(Into::into).unwrap_or_default(),
            port: p.port.get().into(),
            protocol: pb::Protocol::from(p.protocol).into(),
        }
    }
}

/// Parses `ports[i]` and applies the Kubernetes rules that make a port addressable:
/// names are unique and present when there are several, and no port/protocol repeats.
pub(crate) fn parse_service_ports(
    ports: Vec<pb::ServicePort>,
) -> Result<Vec<ServicePort>, ValidationError> {
    let many = ports.len() > 1;
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let mut out = Vec::with_capacity(ports.len());
    for (i, msg) in ports.into_iter().enumerate() {
        let at = || format!("ports[{i}]");
        let port = ServicePort::try_from(msg).at_with(at)?;
        let duplicate = match &port.name {
            None if many => return Err(ValidationErrorKind::PortNameRequired).at_with(at),
            Some(name) if !names.insert(name.clone()) => Some(("port name", name.to_string())),
            _ if !numbers.insert((port.port, port.protocol)) => {
                Some(("port", format!("{}/{}", port.port, port.protocol)))
            }
            _ => None,
        };
        if let Some((what, value)) = duplicate {
            return Err(ValidationErrorKind::Duplicate { what, value }).at_with(at);
        }
        out.push(port);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
