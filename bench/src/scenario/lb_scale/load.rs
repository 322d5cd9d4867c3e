//! The traffic of lb-scale, run inside the pods' namespaces by the bench binary itself
//! (`__accept` in the backend pod, `__connect` in the client pod): a new TCP connection
//! per request; the server writes one byte and closes, the client reads it and resets
//! the connection. So no socket on either side sits in TIME_WAIT: tens of thousands of
//! them would change the cost of later runs (seen: rates rose run after run).

use std::{
    io::{Read as _, Write as _},
    net::{IpAddr, SocketAddr, TcpListener},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};

use crate::stats::Summary;

/// Serves every port until killed: accept, one byte, close.
pub fn accept(ports: &[u16]) -> anyhow::Result<()> {
    let mut threads = Vec::new();
    for &port in ports {
        let listener =
            TcpListener::bind(("0.0.0.0", port)).with_context(|| format!("binding port {port}"))?;
        threads.push(std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let _ = stream.write_all(b"x");
            }
        }));
    }
    // Ready: the parent waits for this line before it sends traffic.
    println!("listening");
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

/// What `__connect` prints as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    pub connections: u64,
    pub failures: u64,
    pub seconds: f64,
    pub per_second: f64,
    /// Connect until the server's byte, per connection, in microseconds.
    pub latency_us: Option<Summary>,
}

/// Opens connections from `source` to `target` from `threads` threads for `duration`.
/// Each run uses a source address of its own, so no connection meets a 4-tuple an
/// earlier run left in TIME_WAIT at the server or in the node's conntrack table.
pub fn connect(
    source: IpAddr,
    target: SocketAddr,
    duration: Duration,
    threads: usize,
) -> LoadResult {
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let failures = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    let deadline = started + duration;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let latencies = latencies.clone();
            let failures = failures.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut failed = 0;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    match one_request(source, target) {
                        Ok(()) => mine.push(t0.elapsed().as_secs_f64() * 1e6),
                        Err(_) => failed += 1,
                    }
                }
                latencies.lock().map(|mut l| l.extend(mine)).ok();
                failures.lock().map(|mut f| *f += failed).ok();
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let seconds = started.elapsed().as_secs_f64();
    let latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let failures = failures.lock().map(|f| *f).unwrap_or_default();
    LoadResult {
        connections: latencies.len() as u64,
        failures,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        latency_us: Summary::of(&latencies),
    }
}

fn one_request(source: IpAddr, target: SocketAddr) -> std::io::Result<()> {
    let socket = Socket::new(
        Domain::for_address(target),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.set_linger(Some(Duration::ZERO))?;
    socket.connect_timeout(&target.into(), Duration::from_secs(1))?;
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte)?;
    Ok(())
}
