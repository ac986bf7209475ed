//! Differential tests against the independent `kafka-protocol` crate, both ways:
//! bytes we encode must decode there (consuming every byte) to values that it
//! re-encodes to the very same bytes, and the bytes it encodes must decode here
//! to our original value. Equal bytes in both directions mean both sides read
//! the same field values, for every message and every version we support.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::{Decodable, Encodable};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::message::Message;
use crate::testgen::Gen;

fn differential<Ours, Theirs>() -> usize
where
    Ours: Message + Gen,
    Theirs: Decodable + Encodable,
{
    let mut checked = 0;
    for version in Ours::MIN_VERSION..=Ours::MAX_VERSION {
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&Ours::strategy(Ours::ctx(version), false), |ours| {
                let mut ours_bytes = BytesMut::new();
                ours.encode_body(&mut ours_bytes, version)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let ours_bytes = ours_bytes.freeze();

                // Ours → theirs.
                let mut input: Bytes = ours_bytes.clone();
                let theirs = Theirs::decode(&mut input, version).map_err(|e| {
                    TestCaseError::fail(format!("kafka-protocol cannot decode our bytes: {e}"))
                })?;
                if !input.is_empty() {
                    return Err(TestCaseError::fail(format!(
                        "kafka-protocol left {} bytes unread",
                        input.len()
                    )));
                }

                // Theirs → ours.
                let mut theirs_bytes = BytesMut::new();
                theirs.encode(&mut theirs_bytes, version).map_err(|e| {
                    TestCaseError::fail(format!("kafka-protocol cannot re-encode: {e}"))
                })?;
                let size = theirs
                    .compute_size(version)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                if theirs_bytes[..] != ours_bytes[..] {
                    return Err(TestCaseError::fail(format!(
                        "bytes differ:\n ours   {:02x?}\n theirs {:02x?}",
                        &ours_bytes[..],
                        &theirs_bytes[..]
                    )));
                }
                if size != ours.body_len(version) {
                    return Err(TestCaseError::fail("sizes differ"));
                }
                let back = Ours::decode_body(&theirs_bytes, version).map_err(|e| {
                    TestCaseError::fail(format!("we cannot decode their bytes: {e}"))
                })?;
                if back != ours {
                    return Err(TestCaseError::fail("decoded value differs"));
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{} v{version}: {e}", Ours::NAME));
        checked += 1;
    }
    checked
}

macro_rules! differential_test {
    ($t:ident) => {
        #[test]
        #[allow(non_snake_case)]
        fn $t() {
            let versions = differential::<crate::messages::$t, kafka_protocol::messages::$t>();
            assert_eq!(
                versions,
                (<crate::messages::$t>::MAX_VERSION - <crate::messages::$t>::MIN_VERSION + 1)
                    as usize
            );
        }
    };
}

mod per_message {
    use super::*;
    crate::tests::for_each_message!(differential_test);
}

#[test]
fn headers_match_kafka_protocol() {
    use kafka_protocol::messages::{RequestHeader as TheirReq, ResponseHeader as TheirResp};
    // kafka-protocol knows request header v1–v2 (v0 was removed in Kafka 4.0).
    for hv in 1..=2i16 {
        let ours = crate::RequestHeader::new(
            crate::ApiKey::PRODUCE,
            9,
            42,
            (hv >= 1).then(|| "ferrokafka".to_owned()),
        );
        let mut a = BytesMut::new();
        ours.encode(&mut a, hv).unwrap();
        assert_eq!(a.len(), ours.encoded_len(hv));
        let mut input = a.clone().freeze();
        let theirs = TheirReq::decode(&mut input, hv).unwrap();
        assert!(input.is_empty());
        assert_eq!(theirs.correlation_id, 42);
        assert_eq!(theirs.request_api_version, 9);
        let mut b = BytesMut::new();
        theirs.encode(&mut b, hv).unwrap();
        assert_eq!(a, b, "request header v{hv}");
        let (rest, back) = crate::RequestHeader::decode(&b, hv).unwrap();
        assert!(rest.is_empty());
        assert_eq!(back, ours);
    }
    for hv in 0..=1i16 {
        let ours = crate::ResponseHeader::new(-7);
        let mut a = BytesMut::new();
        ours.encode(&mut a, hv);
        let mut input = a.clone().freeze();
        let theirs = TheirResp::decode(&mut input, hv).unwrap();
        let mut b = BytesMut::new();
        theirs.encode(&mut b, hv).unwrap();
        assert_eq!(a, b, "response header v{hv}");
    }
}
