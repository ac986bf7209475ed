//! Brokers that misbehave on purpose: small TCP servers on loopback that stay silent, answer
//! garbage, announce a huge frame, answer with the wrong correlation id, or act like a broker
//! until one API, which they never answer.
//!
//! Each server runs on its own threads until dropped. What a connection does is decided by
//! [`Behaviour`]; every loop is bounded by the server's stop flag and by read timeouts, so a
//! test that forgets a server never leaves a spinning thread behind.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
pub use ferrokafka_wire::ApiKey;
use ferrokafka_wire::frame::{decode_request, encode_response};
use ferrokafka_wire::messages::{
    ApiVersionsResponse, InitProducerIdResponse, MetadataResponse, ProduceResponse, api_versions,
    metadata,
};
use ferrokafka_wire::{RequestBody, ResponseBody, SUPPORTED_APIS};

use crate::HarnessError;

/// What a hostile broker does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts, reads everything, answers nothing.
    Silent,
    /// Answers the first request with a well-framed body of random bytes.
    Garbage,
    /// Answers the first request with a length prefix of about 2 GB and nothing after it.
    HugeLength,
    /// Answers the first request correctly but under another correlation id.
    WrongCorrelation,
    /// Answers ApiVersions, Metadata and InitProducerId like a one-node cluster (itself, every
    /// topic asked for with one partition it leads) and never answers this API.
    SilentOn(ApiKey),
    /// Like a one-node cluster, but its Produce answers name no partition at all.
    ProduceWithoutPartitions,
    /// Like a one-node cluster, but Metadata lists every topic without error and with zero
    /// partitions.
    TopicsWithoutPartitions,
}

/// A running hostile broker. Dropping it stops it.
#[derive(Debug)]
pub struct HostileBroker {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    /// Requests it read and left unanswered.
    ignored: Arc<AtomicUsize>,
    acceptor: Option<JoinHandle<()>>,
}

impl HostileBroker {
    /// Starts one on a free loopback port.
    pub fn start(behaviour: Behaviour) -> Result<HostileBroker, HarnessError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(HarnessError::io("bind a hostile broker"))?;
        let addr = listener
            .local_addr()
            .map_err(HarnessError::io("local_addr"))?;
        listener
            .set_nonblocking(true)
            .map_err(HarnessError::io("set_nonblocking"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let ignored = Arc::new(AtomicUsize::new(0));
        let acceptor = {
            let stop = Arc::clone(&stop);
            let accepted = Arc::clone(&accepted);
            let ignored = Arc::clone(&ignored);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            let stop = Arc::clone(&stop);
                            let ignored = Arc::clone(&ignored);
                            std::thread::spawn(move || {
                                serve(stream, behaviour, addr, &stop, &ignored);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Ok(HostileBroker {
            addr,
            stop,
            accepted,
            ignored,
            acceptor: Some(acceptor),
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// How many connections it accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// How many requests it read and left unanswered so far (with `SilentOn(api)`, the
    /// requests of that API).
    pub fn ignored(&self) -> usize {
        self.ignored.load(Ordering::SeqCst)
    }
}

impl Drop for HostileBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request frame (its bytes after the length prefix); `None` when the peer closed,
/// the server stops, or the frame is absurd.
fn read_frame(stream: &mut TcpStream, stop: &AtomicBool) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    read_exact(stream, &mut len, stop)?;
    let len = usize::try_from(i32::from_be_bytes(len)).ok()?;
    if len > 16 * 1024 * 1024 {
        return None;
    }
    let mut frame = vec![0u8; len];
    read_exact(stream, &mut frame, stop)?;
    Some(frame)
}

fn read_exact(stream: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> Option<()> {
    let mut at = 0;
    while at < buf.len() {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match stream.read(&mut buf[at..]) {
            Ok(0) => return None,
            Ok(n) => at += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    Some(())
}

fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    me: SocketAddr,
    stop: &AtomicBool,
    ignored: &AtomicUsize,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_nodelay(true);
    let mut answered_once = false;
    while let Some(frame) = read_frame(&mut stream, stop) {
        let reply: Option<Vec<u8>> = match behaviour {
            Behaviour::Silent => None,
            Behaviour::Garbage if !answered_once => {
                let mut out = 64u32.to_be_bytes().to_vec();
                let mut x: u32 = 0x9e37_79b9;
                for _ in 0..64 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    out.push(x.to_le_bytes()[0]);
                }
                Some(out)
            }
            Behaviour::HugeLength if !answered_once => Some(0x7fff_fff0_u32.to_be_bytes().to_vec()),
            Behaviour::WrongCorrelation if !answered_once => {
                answer(&frame, me, 1_000_000, behaviour)
            }
            Behaviour::SilentOn(api) => match decode_request(&frame) {
                Ok((header, _)) if header.api_key == api => None,
                Ok(_) => answer(&frame, me, 0, behaviour),
                Err(_) => None,
            },
            Behaviour::ProduceWithoutPartitions | Behaviour::TopicsWithoutPartitions => {
                answer(&frame, me, 0, behaviour)
            }
            Behaviour::Garbage | Behaviour::HugeLength | Behaviour::WrongCorrelation => None,
        };
        let Some(bytes) = reply else {
            ignored.fetch_add(1, Ordering::SeqCst);
            continue;
        };
        answered_once = true;
        if stream.write_all(&bytes).is_err() {
            return;
        }
    }
}

/// An answer to ApiVersions, Metadata, InitProducerId or Produce (others get none) as
/// `behaviour` wants it, its correlation id shifted by `correlation_shift`.
fn answer(
    frame: &[u8],
    me: SocketAddr,
    correlation_shift: i32,
    behaviour: Behaviour,
) -> Option<Vec<u8>> {
    let (header, body) = decode_request(frame).ok()?;
    let version = header.api_version;
    let response: ResponseBody = match body {
        RequestBody::ApiVersions(_) => ApiVersionsResponse {
            api_keys: SUPPORTED_APIS
                .iter()
                .map(|&(api, min, max)| api_versions::ApiVersion {
                    api_key: api.0,
                    min_version: min,
                    max_version: max,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into(),
        RequestBody::Metadata(req) => {
            let topics = req
                .topics
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| t.name)
                .map(|name| metadata::MetadataResponseTopic {
                    name: Some(name),
                    partitions: if behaviour == Behaviour::TopicsWithoutPartitions {
                        Vec::new().into()
                    } else {
                        vec![metadata::MetadataResponsePartition {
                            partition_index: 0,
                            leader_id: 0,
                            replica_nodes: vec![0],
                            isr_nodes: vec![0],
                            ..Default::default()
                        }]
                        .into()
                    },
                    ..Default::default()
                })
                .collect();
            MetadataResponse {
                brokers: vec![metadata::MetadataResponseBroker {
                    node_id: 0,
                    host: me.ip().to_string(),
                    port: i32::from(me.port()),
                    ..Default::default()
                }],
                cluster_id: Some("hostile".into()),
                controller_id: 0,
                topics,
                ..Default::default()
            }
            .into()
        }
        RequestBody::InitProducerId(_) => InitProducerIdResponse {
            producer_id: 4242,
            producer_epoch: 0,
            ..Default::default()
        }
        .into(),
        // Every partition is left out: a protocol violation.
        RequestBody::Produce(_) if behaviour == Behaviour::ProduceWithoutPartitions => {
            ProduceResponse::default().into()
        }
        _ => return None,
    };
    let mut out = BytesMut::new();
    encode_response(
        &mut out,
        header.correlation_id.wrapping_add(correlation_shift),
        &response,
        version,
    )
    .ok()?;
    Some(out.to_vec())
}
