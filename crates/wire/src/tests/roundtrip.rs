//! proptest: for every message and every version, encode → decode is the
//! identity, the computed size equals the bytes written, and every truncation or
//! random input decodes to an error, never a panic; `skip` (decode's checks without
//! building the value) accepts and refuses exactly what decode does, with the same errors.

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::message::Message;
use crate::messages::*;
use crate::testgen::Gen;

const CASES: u32 = 96;

/// [`Wire::skip`] over a body, as [`Message::decode_body_prefix`] reports decoding:
/// the unread length, or the error.
fn skip_body<T: Message>(input: &[u8], version: i16) -> Result<usize, DecodeError> {
    match T::skip(input, T::ctx(version), false) {
        Ok((rest, ())) => Ok(rest.len()),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => {
            Err(DecodeError::new(DecodeErrorKind::Truncated).at(T::NAME, version, "(end)"))
        }
    }
}

/// Skipping and decoding `input` end alike: same unread length, or the same error.
fn skip_agrees<T: Message>(input: &[u8], version: i16) -> Result<(), TestCaseError> {
    let decoded = T::decode_body_prefix(input, version).map(|(_, unread)| unread);
    prop_assert_eq!(
        skip_body::<T>(input, version),
        decoded,
        "skip and decode disagree on {:02x?}",
        input
    );
    Ok(())
}

fn roundtrip<T: Message + Gen>() -> usize {
    let mut checked = 0;
    for version in T::MIN_VERSION..=T::MAX_VERSION {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&T::strategy(T::ctx(version), false), |msg| {
                let mut buf = BytesMut::new();
                msg.encode_body(&mut buf, version)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(buf.len(), msg.body_len(version), "computed size");
                let back = T::decode_body(&buf, version)
                    .map_err(|e| TestCaseError::fail(format!("{e} for {:02x?}", &buf[..])))?;
                prop_assert_eq!(&back, &msg);
                skip_agrees::<T>(&buf, version)?;
                // Every strict prefix is an error (never a panic, never Ok).
                for cut in 0..buf.len() {
                    prop_assert!(
                        T::decode_body(&buf[..cut], version).is_err(),
                        "prefix {cut} decoded"
                    );
                    skip_agrees::<T>(&buf[..cut], version)?;
                }
                // So is any byte set to 0xff (a negative or huge length, a bad boolean, an
                // overlong varint...), as far as skipping and decoding agreeing goes.
                let mut bad = buf.to_vec();
                for at in 0..bad.len() {
                    let was = std::mem::replace(&mut bad[at], 0xff);
                    skip_agrees::<T>(&bad, version)?;
                    bad[at] = was;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{} v{version}: {e}", T::NAME));
        checked += 1;
    }
    checked
}

fn random_input_never_panics<T: Message>() {
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(
                T::MIN_VERSION..=T::MAX_VERSION,
                proptest::collection::vec(any::<u8>(), 0..256),
            ),
            |(version, bytes)| {
                let _ = T::decode_body(&bytes, version);
                skip_agrees::<T>(&bytes, version)
            },
        )
        .unwrap();
}

macro_rules! roundtrip_test {
    ($t:ident) => {
        #[allow(non_snake_case)]
        mod $t {
            use super::*;
            #[test]
            fn every_version_roundtrips() {
                let versions = roundtrip::<crate::messages::$t>();
                assert_eq!(
                    versions,
                    (<crate::messages::$t>::MAX_VERSION - <crate::messages::$t>::MIN_VERSION + 1)
                        as usize
                );
            }
            #[test]
            fn random_bytes_never_panic() {
                random_input_never_panics::<crate::messages::$t>();
            }
        }
    };
}

mod per_message {
    use super::*;
    crate::tests::for_each_message!(roundtrip_test);
}

#[test]
fn hostile_counts_do_not_allocate() {
    // Metadata v1 response: throttle-less, brokers array with count i32::MAX and
    // nothing behind it. Must fail quickly on the count check.
    let bytes = [0x7f, 0xff, 0xff, 0xff];
    let err = MetadataResponse::decode_body(&bytes, 1).unwrap_err();
    assert!(
        matches!(err.kind(), crate::DecodeErrorKind::InvalidLength(_)),
        "{err}"
    );
    assert_eq!(err.location().unwrap().field, "brokers");
    assert_eq!(
        err.to_string(),
        "decoding MetadataResponse v1: field brokers: invalid length or count 2147483647"
    );
}

#[test]
fn nested_errors_name_the_outer_message_and_inner_field() {
    // Produce v3 response with one topic "t" and a partition list that ends early.
    let mut bytes = vec![0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1];
    bytes.extend_from_slice(&[0, 0, 0, 0]); // partition index, then nothing
    let err = ProduceResponse::decode_body(&bytes, 3).unwrap_err();
    let loc = err.location().unwrap();
    assert_eq!(
        (loc.structure, loc.field, loc.version),
        ("PartitionProduceResponse", "error_code", 3)
    );
    assert_eq!(err.message(), Some("ProduceResponse"));
}

#[test]
fn null_in_non_nullable_version_is_an_encode_error() {
    // Metadata v0 does not allow a null topic list.
    let req = MetadataRequest {
        topics: None,
        ..MetadataRequest::default()
    };
    let err = req.encode_body(&mut BytesMut::new(), 0).unwrap_err();
    assert_eq!(*err.kind(), crate::EncodeErrorKind::NullNotAllowed);
    assert_eq!(err.location().unwrap().field, "topics");
    assert!(req.encode_body(&mut BytesMut::new(), 1).is_ok());
}

#[test]
fn unsupported_versions_are_refused() {
    assert!(
        ProduceRequest::default()
            .encode_body(&mut BytesMut::new(), 2)
            .is_err()
    );
    assert!(ProduceRequest::decode_body(&[], 14).is_err());
}
