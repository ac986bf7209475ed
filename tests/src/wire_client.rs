//! A minimal blocking Kafka client over `ferrokafka-wire`, one request at a time.
//!
//! It exists to exercise the wire crate end to end against real brokers (framing,
//! headers, correlation, the ApiVersions fallback, negotiation, body decoding) in
//! the live tests and `cargo xtask demo`. It is not the producer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use ferrokafka_wire::frame::{
    CorrelationError, Correlator, DEFAULT_MAX_FRAME_SIZE, encode_request, split_frame,
};
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::{
    ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse, metadata,
};
use ferrokafka_wire::{ApiKey, DecodeError, EncodeError, ErrorCode, RequestBody, ResponseBody};

/// What went wrong talking to a broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    #[error("i/o with {addr}: {source}")]
    Io {
        /// Broker address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The broker closed the connection.
    #[error("{0} closed the connection")]
    Closed(String),
    /// A request could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A frame or response did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A response did not answer the outstanding request.
    #[error(transparent)]
    Correlation(#[from] CorrelationError),
    /// The broker answered with something unexpected.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

/// One blocking connection.
#[derive(Debug)]
pub struct WireClient {
    addr: String,
    stream: TcpStream,
    correlator: Correlator<()>,
    rx: BytesMut,
    client_id: String,
}

impl WireClient {
    /// Connects to the first address of a bootstrap list (`host:port[,host:port...]`).
    pub fn connect(bootstrap: &str) -> Result<Self, ClientError> {
        let addr = bootstrap
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let io = |source| ClientError::Io {
            addr: addr.clone(),
            source,
        };
        let stream = TcpStream::connect(&addr).map_err(io)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        Ok(Self {
            addr,
            stream,
            correlator: Correlator::new(),
            rx: BytesMut::new(),
            client_id: "ferrokafka-wire-client".to_owned(),
        })
    }

    /// Sends one request and waits for its response.
    pub fn request(
        &mut self,
        body: &RequestBody,
        version: i16,
    ) -> Result<ResponseBody, ClientError> {
        let id = self.correlator.register(body.api_key(), version, true, ());
        let mut out = BytesMut::new();
        encode_request(&mut out, id, Some(&self.client_id), body, version)?;
        self.stream
            .write_all(&out)
            .map_err(|source| ClientError::Io {
                addr: self.addr.clone(),
                source,
            })?;
        let frame = loop {
            if let Some(frame) = split_frame(&mut self.rx, DEFAULT_MAX_FRAME_SIZE)? {
                break frame;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|source| ClientError::Io {
                    addr: self.addr.clone(),
                    source,
                })?;
            if n == 0 {
                return Err(ClientError::Closed(self.addr.clone()));
            }
            self.rx.extend_from_slice(&chunk[..n]);
        };
        let matched = self.correlator.match_response(&frame)?;
        let (header, body) = matched.response?;
        if header.correlation_id != id {
            return Err(ClientError::Unexpected(format!(
                "correlation id {} for request {id}",
                header.correlation_id
            )));
        }
        Ok(body)
    }

    /// ApiVersions the way a client must: our highest version first; on
    /// UNSUPPORTED_VERSION retry with the broker's highest ApiVersions version, or 0
    /// when its answer does not say (KIP-511). Returns the answer and the version
    /// that succeeded.
    pub fn api_versions(&mut self) -> Result<(ApiVersionsResponse, i16), ClientError> {
        let req = RequestBody::from(ApiVersionsRequest::new(
            "ferrokafka",
            env!("CARGO_PKG_VERSION"),
        ));
        let mut version = ApiVersionsRequest::MAX_VERSION;
        for _ in 0..2 {
            let ResponseBody::ApiVersions(resp) = self.request(&req, version)? else {
                return Err(ClientError::Unexpected(
                    "not an ApiVersions response".into(),
                ));
            };
            match ErrorCode(resp.error_code) {
                ErrorCode::NONE => return Ok((resp, version)),
                ErrorCode::UNSUPPORTED_VERSION if version > 0 => {
                    version = resp
                        .range(ApiKey::API_VERSIONS)
                        .map_or(0, |(_, max)| max.min(ApiVersionsRequest::MAX_VERSION));
                }
                other => {
                    return Err(ClientError::Unexpected(format!(
                        "ApiVersions error {other:?}"
                    )));
                }
            }
        }
        Err(ClientError::Unexpected(
            "ApiVersions failed after the fallback".into(),
        ))
    }

    /// Metadata for `topics` (`None`: all topics) without auto-creation.
    pub fn metadata(
        &mut self,
        version: i16,
        topics: Option<&[&str]>,
    ) -> Result<MetadataResponse, ClientError> {
        let req = MetadataRequest {
            topics: topics.map(|t| {
                t.iter()
                    .map(|name| metadata::MetadataRequestTopic {
                        name: Some((*name).to_owned()),
                        ..Default::default()
                    })
                    .collect()
            }),
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        match self.request(&req.into(), version)? {
            ResponseBody::Metadata(m) => Ok(m),
            other => Err(ClientError::Unexpected(format!(
                "expected Metadata, got {:?}",
                other.api_key()
            ))),
        }
    }
}
