//! [`encode_request_parts`]: a request frame as byte parts written one after the other, so a
//! Produce request's record batches go out from their own buffers instead of being copied
//! into the frame (a copy of every byte produced).

use bytes::{BufMut, Bytes, BytesMut};

use super::{encode_request, frame_size_prefix};
use crate::api::ApiKey;
use crate::error::EncodeError;
use crate::header::{RequestHeader, request_header_version};
use crate::messages::produce::ProduceRequest;
use crate::messages::{RequestBody, is_flexible};
use crate::primitives::{put_length, put_uvarint};
use crate::types::{Ctx, Nullable, Wire, check_len};

/// Record batches at least this long become parts of their own in
/// [`encode_request_parts`]; shorter ones are cheaper to copy than to write separately.
pub const SPLICE_MIN: usize = 512;

/// The frame [`encode_request`] appends, as parts whose concatenation is exactly those bytes.
///
/// For a Produce request each record batch of at least [`SPLICE_MIN`] bytes is a part of its
/// own, sharing the batch's buffer (written with vectored I/O, it is never copied); the bytes
/// around the batches are copied into small parts. Every other request is one part. A
/// Produce request carrying unknown tagged fields is encoded as one part too.
pub fn encode_request_parts(
    correlation_id: i32,
    client_id: Option<&str>,
    body: &RequestBody,
    version: i16,
) -> Result<Vec<Bytes>, EncodeError> {
    match body {
        RequestBody::Produce(req) if !has_unknown_tags(req) => {
            produce_parts(correlation_id, client_id, body, req, version)
        }
        _ => {
            let mut buf = BytesMut::new();
            encode_request(&mut buf, correlation_id, client_id, body, version)?;
            Ok(vec![buf.freeze()])
        }
    }
}

fn has_unknown_tags(req: &ProduceRequest) -> bool {
    !req.unknown_tagged_fields.is_empty()
        || req.topic_data.iter().any(|t| {
            !t.unknown_tagged_fields.is_empty()
                || t.partition_data
                    .iter()
                    .any(|p| !p.unknown_tagged_fields.is_empty())
        })
}

/// Produce (v3–v13) field by field, in the order of its schema (`messages::produce`).
fn produce_parts(
    correlation_id: i32,
    client_id: Option<&str>,
    body: &RequestBody,
    req: &ProduceRequest,
    version: i16,
) -> Result<Vec<Bytes>, EncodeError> {
    if !(3..=13).contains(&version) {
        // The schema's versions; the generic encoder says what is wrong with another one.
        let mut buf = BytesMut::new();
        encode_request(&mut buf, correlation_id, client_id, body, version)?;
        return Ok(vec![buf.freeze()]);
    }
    let flexible = is_flexible(ApiKey::PRODUCE, version).unwrap_or(false);
    let ctx = Ctx { version, flexible };
    let header = RequestHeader::new(
        ApiKey::PRODUCE,
        version,
        correlation_id,
        client_id.map(str::to_owned),
    );
    let header_version = request_header_version(flexible);
    let size = header.encoded_len(header_version) + body.encoded_len(version);
    let prefix = frame_size_prefix(size)?;
    // Everything but the spliced batches goes into one buffer of exactly its size; the parts
    // are slices of it between the batches, so a request costs one allocation however many
    // partitions it carries.
    let spliced: usize = req
        .topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .filter_map(|p| p.records.as_ref())
        .map(Bytes::len)
        .filter(|&len| len >= SPLICE_MIN)
        .sum();
    let batches = req
        .topic_data
        .iter()
        .map(|t| t.partition_data.len())
        .sum::<usize>();
    let mut buf = BytesMut::with_capacity((4 + size).saturating_sub(spliced));
    // (where in `buf` the bytes before a spliced batch end, the batch)
    let mut cuts: Vec<(usize, &Bytes)> = Vec::with_capacity(batches);
    buf.put_i32(prefix);
    header.encode(&mut buf, header_version)?;
    req.transactional_id
        .encode(&mut buf, ctx, true)
        .map_err(|e| e.at("ProduceRequest", version, "transactional_id"))?;
    buf.put_i16(req.acks);
    buf.put_i32(req.timeout_ms);
    check_len(req.topic_data.len(), true)?;
    put_length(&mut buf, Some(req.topic_data.len()), flexible, true);
    for topic in &req.topic_data {
        if version <= 12 {
            topic
                .name
                .encode(&mut buf, ctx, false)
                .map_err(|e| e.at("TopicProduceData", version, "name"))?;
        } else {
            topic.topic_id.encode(&mut buf, ctx, false)?;
        }
        check_len(topic.partition_data.len(), true)?;
        put_length(&mut buf, Some(topic.partition_data.len()), flexible, true);
        for partition in &topic.partition_data {
            buf.put_i32(partition.index);
            match &partition.records {
                None => Bytes::encode_null(&mut buf, ctx),
                Some(records) => {
                    check_len(records.len(), true)?;
                    put_length(&mut buf, Some(records.len()), flexible, true);
                    if records.len() >= SPLICE_MIN {
                        cuts.push((buf.len(), records));
                    } else {
                        buf.put_slice(records);
                    }
                }
            }
            if flexible {
                put_uvarint(&mut buf, 0); // no tagged fields
            }
        }
        if flexible {
            put_uvarint(&mut buf, 0);
        }
    }
    if flexible {
        put_uvarint(&mut buf, 0);
    }
    let own = buf.freeze();
    let mut parts = Vec::with_capacity(2 * cuts.len() + 1);
    let mut from = 0;
    for (at, records) in cuts {
        if at > from {
            parts.push(own.slice(from..at));
        }
        parts.push(records.clone());
        from = at;
    }
    if own.len() > from {
        parts.push(own.slice(from..));
    }
    debug_assert_eq!(
        parts.iter().map(Bytes::len).sum::<usize>(),
        4 + size,
        "computed frame size"
    );
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::produce::{PartitionProduceData, TopicProduceData};
    use crate::types::Uuid;

    fn batch(len: usize, seed: u8) -> Bytes {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>()
            .into()
    }

    fn request(txn: bool, sizes: &[&[Option<usize>]]) -> ProduceRequest {
        ProduceRequest {
            transactional_id: txn.then(|| "txn-7".to_owned()),
            acks: -1,
            timeout_ms: 30_000,
            topic_data: sizes
                .iter()
                .enumerate()
                .map(|(t, partitions)| TopicProduceData {
                    name: format!("topic-{t}"),
                    topic_id: Uuid([t as u8 + 1; 16]),
                    partition_data: partitions
                        .iter()
                        .enumerate()
                        .map(|(p, len)| PartitionProduceData {
                            index: p as i32 * 3,
                            records: len.map(|l| batch(l, p as u8)),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn whole(body: &RequestBody, version: i16, client: Option<&str>) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode_request(&mut buf, 42, client, body, version).expect("encodes");
        buf.to_vec()
    }

    #[test]
    fn parts_concatenate_to_the_generic_encoding_at_every_version() {
        let shapes: Vec<Vec<&[Option<usize>]>> = vec![
            vec![&[Some(100)]],
            vec![&[Some(SPLICE_MIN)]],
            vec![&[Some(SPLICE_MIN - 1), Some(4000), None, Some(70_000)]],
            vec![&[Some(5000)], &[], &[Some(10), Some(600)]],
            vec![],
        ];
        for version in 3..=13 {
            for txn in [false, true] {
                for client in [None, Some("ferrokafka")] {
                    for shape in &shapes {
                        let req = request(txn, shape);
                        // Every batch of SPLICE_MIN bytes or more is its own part, uncopied.
                        let long: Vec<Bytes> = req
                            .topic_data
                            .iter()
                            .flat_map(|t| t.partition_data.iter())
                            .filter_map(|p| p.records.clone())
                            .filter(|r| r.len() >= SPLICE_MIN)
                            .collect();
                        let body = RequestBody::Produce(req);
                        let parts =
                            encode_request_parts(42, client, &body, version).expect("encodes");
                        let joined: Vec<u8> = parts.iter().flat_map(|p| p.to_vec()).collect();
                        assert_eq!(
                            joined,
                            whole(&body, version, client),
                            "v{version} {shape:?}"
                        );
                        let shared = |r: &Bytes| {
                            parts
                                .iter()
                                .any(|p| p.as_ptr() == r.as_ptr() && p.len() == r.len())
                        };
                        assert!(long.iter().all(shared), "v{version} {shape:?}");
                        // Besides them: the bytes before each, and any after the last.
                        assert!(parts.iter().all(|p| !p.is_empty()));
                        assert!(parts.len() <= 2 * long.len() + 1, "v{version} {shape:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_spliced_batch_shares_the_batch_buffer() {
        let req = request(false, &[&[Some(4096)]]);
        let records = req.topic_data[0].partition_data[0]
            .records
            .clone()
            .expect("records");
        let parts = encode_request_parts(1, None, &RequestBody::Produce(req), 9).expect("encodes");
        assert_eq!(parts.len(), 3, "head, batch, tail");
        assert_eq!(parts[1].as_ptr(), records.as_ptr(), "not copied");
    }

    #[test]
    fn other_requests_and_unknown_tags_are_one_part() {
        let body = RequestBody::Metadata(crate::messages::MetadataRequest::default());
        let parts = encode_request_parts(3, Some("c"), &body, 12).expect("encodes");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].to_vec(), whole_with_id(&body, 12, 3));

        let mut req = request(false, &[&[Some(4096)]]);
        req.topic_data[0].partition_data[0]
            .unknown_tagged_fields
            .insert(7, Bytes::from_static(b"x"));
        let body = RequestBody::Produce(req);
        let parts = encode_request_parts(42, None, &body, 9).expect("encodes");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].to_vec(), whole(&body, 9, None));
    }

    fn whole_with_id(body: &RequestBody, version: i16, id: i32) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode_request(&mut buf, id, Some("c"), body, version).expect("encodes");
        buf.to_vec()
    }

    #[test]
    fn a_version_outside_the_schema_fails_as_the_generic_encoder_does() {
        let body = RequestBody::Produce(request(false, &[&[Some(4096)]]));
        let mut buf = BytesMut::new();
        let generic = encode_request(&mut buf, 1, None, &body, 2).is_err();
        assert_eq!(encode_request_parts(1, None, &body, 2).is_err(), generic);
    }
}
