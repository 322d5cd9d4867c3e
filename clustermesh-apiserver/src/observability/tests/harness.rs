//! A server on `127.0.0.1:0`, and a raw HTTP/1.1 client so the tests need no HTTP
//! client dependency.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use super::DEADLINE;
use crate::observability::{Health, Metrics, serve};

pub(super) struct Server {
    pub(super) addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

pub(super) async fn start(metrics: Metrics, health: Health) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(listener, metrics, health, shutdown.clone()));
    Server {
        addr,
        shutdown,
        task,
    }
}

impl Server {
    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        timeout(DEADLINE, self.task)
            .await
            .expect("serve ends within the deadline")
            .expect("serve task did not panic")
            .expect("serve returned Ok");
    }
}

#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) content_type: Option<String>,
    pub(super) body: String,
}

/// A minimal HTTP/1.1 GET: `Connection: close`, then read to EOF.
pub(super) async fn get(addr: SocketAddr, path: &str) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        String::from_utf8(raw).expect("utf-8 response")
    };
    let raw = timeout(DEADLINE, exchange)
        .await
        .expect("reply within the deadline");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    let status = status_line.split(' ').nth(1).expect("status code");
    let mut content_type = None;
    for line in lines {
        let (name, value) = line.split_once(':').expect("header");
        let name = name.to_ascii_lowercase();
        assert_ne!(
            name, "transfer-encoding",
            "chunked bodies are not parsed here"
        );
        if name == "content-type" {
            content_type = Some(value.trim().to_owned());
        }
    }
    Reply {
        status: status.parse().expect("numeric status"),
        content_type,
        body: body.to_owned(),
    }
}
