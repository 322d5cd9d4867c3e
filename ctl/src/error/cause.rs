//! Classifying transport errors and gRPC statuses into the few causes an operator can
//! act on. tonic wraps the interesting part (an `io::Error`, a rustls alert) several
//! layers deep, so the whole source chain is searched.

use std::{error::Error, fmt, io};

use tonic::Code;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The TLS handshake failed: our CA does not trust the server, or the server
    /// rejected our client certificate.
    CertificateRejected(String),
    ConnectionRefused,
    TimedOut,
    /// The certificate was accepted but its role may not make this call.
    PermissionDenied(String),
    /// The apiserver answered `Unavailable`: it is up but not ready for this yet.
    Unavailable(String),
    /// The apiserver refused the request with this code.
    Answer {
        code: Code,
        message: String,
    },
    /// Any other transport failure (DNS, a reset connection, ...).
    Transport(String),
}

impl Cause {
    /// From a failed eager connect.
    pub fn of_transport(error: &tonic::transport::Error) -> Self {
        classify_chain(error).unwrap_or_else(|| Self::Transport(chain_text(error)))
    }

    /// From a failed call. Transport failures surface as statuses too (`Unavailable`
    /// or `Unknown` with the transport error as source), so those are told apart from
    /// the apiserver's own answers by their source chain.
    pub fn of_status(status: &tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            Code::PermissionDenied => Self::PermissionDenied(message),
            Code::Unauthenticated => Self::CertificateRejected(message),
            Code::DeadlineExceeded => Self::TimedOut,
            code @ (Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal) => {
                // Only a status made from a local error has a source; the apiserver's own
                // answers never do, whatever their message says.
                if let Some(source) = status.source() {
                    return classify_chain(source)
                        .unwrap_or_else(|| Self::Transport(chain_text(status)));
                }
                match code {
                    Code::Unavailable => Self::Unavailable(message),
                    // tonic's own request timeout, which carries no source.
                    Code::Cancelled if message.to_lowercase().contains("timeout expired") => {
                        Self::TimedOut
                    }
                    code => Self::Answer { code, message },
                }
            }
            code => Self::Answer { code, message },
        }
    }

    /// What to check next, given the apiserver `address`.
    pub fn hint(&self, address: &str) -> Option<String> {
        Some(match self {
            Self::ConnectionRefused | Self::TimedOut | Self::Transport(_) => format!(
                "is `clustermesh-apiserver run` up and listening on {address}? check `ctl context list`"
            ),
            Self::CertificateRejected(_) => "the context's CA or admin certificate is not from \
                 this apiserver's cluster; check the files `ctl context list` shows, or add the \
                 context again with `clustermesh-apiserver init`"
                .to_owned(),
            Self::PermissionDenied(_) => "the context's client certificate lacks the admin role; \
                 issue one with `clustermesh-apiserver issue-cert --role admin`"
                .to_owned(),
            Self::Unavailable(_) => "the apiserver is starting; retry shortly".to_owned(),
            Self::Answer { .. } => return None,
        })
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CertificateRejected(detail) => write!(f, "certificate rejected: {detail}"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::TimedOut => f.write_str("timed out"),
            Self::PermissionDenied(detail) => write!(f, "permission denied: {detail}"),
            Self::Unavailable(detail) => write!(f, "unavailable: {detail}"),
            Self::Answer { code, message } => write!(f, "{}: {message}", code_name(*code)),
            Self::Transport(detail) => write!(f, "transport error: {detail}"),
        }
    }
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "invalid argument",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::FailedPrecondition => "failed precondition",
        Code::ResourceExhausted => "resource exhausted",
        Code::Unimplemented => "unimplemented (is the apiserver older than ctl?)",
        Code::Internal => "internal error",
        Code::Aborted => "aborted",
        Code::Cancelled => "cancelled",
        _ => "error",
    }
}

/// The cause found in `error`'s source chain, if it is one of the known ones.
fn classify_chain(error: &(dyn Error + 'static)) -> Option<Cause> {
    let mut texts = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return Some(Cause::ConnectionRefused),
                io::ErrorKind::TimedOut => return Some(Cause::TimedOut),
                _ => {}
            }
        }
        texts.push(e.to_string());
        current = e.source();
    }
    classify_text(&texts)
}

/// By the messages alone, innermost first, since that is the most specific.
pub(super) fn classify_text(texts: &[String]) -> Option<Cause> {
    let lower: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    let any = |needles: &[&str]| {
        lower
            .iter()
            .rev()
            .position(|t| needles.iter().any(|n| t.contains(n)))
            .map(|i| texts[texts.len() - 1 - i].clone())
    };
    if let Some(text) = any(&[
        "certificate",
        "unknownissuer",
        "unknown issuer",
        "unknownca",
        "notvalidforname",
        "fatal alert",
        "handshake",
    ]) {
        return Some(Cause::CertificateRejected(text));
    }
    if any(&["connection refused"]).is_some() {
        return Some(Cause::ConnectionRefused);
    }
    if any(&["timed out", "timeout expired", "deadline"]).is_some() {
        return Some(Cause::TimedOut);
    }
    None
}

/// Each distinct message of the chain once, outermost first.
fn chain_text(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
