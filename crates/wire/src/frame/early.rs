//! Answers decoded early: before the connection's [`Correlator`](super::Correlator) is at hand.
//!
//! A driver that reads a connection's frames on one task and hands them to the sender's state
//! under a lock on another can decode an answer on the reading task, outside that lock. What
//! it needs to know of each request, its API, version and correlation id, it reads from the
//! request frames as they are written ([`RequestIds::scan`]); the correlator still matches
//! every answer to its oldest request and takes the early decoding only when both name the
//! same request ([`Correlator::match_response_with`](super::Correlator::match_response_with)),
//! so an early answer that guessed wrong costs a second decoding, never a wrong one.

use crate::api::ApiKey;
use crate::error::DecodeError;
use crate::header::ResponseHeader;
use crate::messages::ResponseBody;

/// What a request's header says of it: enough to decode its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestIds {
    /// The request's correlation id, which its answer repeats.
    pub correlation_id: i32,
    /// The request's API.
    pub api_key: ApiKey,
    /// The request's version.
    pub version: i16,
}

/// Bytes from the start of a request frame to the end of its correlation id: size (4), API
/// key (2), version (2), correlation id (4).
const IDS_END: usize = 12;

impl RequestIds {
    /// The ids of each request frame in `parts`: size-prefixed request frames back to back,
    /// the bytes cut into parts anywhere (as a Produce request's record batches are parts of
    /// their own). Stops at a frame too short to hold its ids, or one that runs past the end.
    pub fn scan<B: AsRef<[u8]>>(parts: &[B], mut found: impl FnMut(RequestIds)) {
        let mut cursor = Cursor {
            parts,
            part: 0,
            at: 0,
        };
        let mut head = [0u8; IDS_END];
        while cursor.read(&mut head) {
            let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let Some(rest) = usize::try_from(size)
                .ok()
                .and_then(|s| s.checked_sub(IDS_END - 4))
            else {
                return;
            };
            found(RequestIds {
                api_key: ApiKey(i16::from_be_bytes([head[4], head[5]])),
                version: i16::from_be_bytes([head[6], head[7]]),
                correlation_id: i32::from_be_bytes([head[8], head[9], head[10], head[11]]),
            });
            if !cursor.skip(rest) {
                return;
            }
        }
    }
}

/// A read position in bytes cut into parts.
struct Cursor<'a, B> {
    parts: &'a [B],
    /// The part being read, and the offset in it.
    part: usize,
    at: usize,
}

impl<'a, B: AsRef<[u8]>> Cursor<'a, B> {
    /// The next bytes from the position, at most `max` (fewer where a part ends), moving past
    /// them; `None` once the bytes end.
    fn next_chunk(&mut self, max: usize) -> Option<&'a [u8]> {
        loop {
            let part = self.parts.get(self.part)?.as_ref();
            if self.at < part.len() {
                let take = (part.len() - self.at).min(max);
                let chunk = &part[self.at..self.at + take];
                self.at += take;
                return Some(chunk);
            }
            self.part += 1;
            self.at = 0;
        }
    }

    /// Fills `out` from the position on, moving past it; false if the bytes end first.
    fn read(&mut self, out: &mut [u8]) -> bool {
        let mut filled = 0;
        while filled < out.len() {
            let Some(chunk) = self.next_chunk(out.len() - filled) else {
                return false;
            };
            out[filled..filled + chunk.len()].copy_from_slice(chunk);
            filled += chunk.len();
        }
        true
    }

    /// Moves `n` bytes on; false if the bytes end first.
    fn skip(&mut self, mut n: usize) -> bool {
        while n > 0 {
            let Some(chunk) = self.next_chunk(n) else {
                return false;
            };
            n -= chunk.len();
        }
        true
    }
}

/// An answer decoded as the answer to one request, before the correlator saw it.
#[derive(Debug)]
pub struct EarlyAnswer {
    pub(super) request: RequestIds,
    pub(super) response: Result<(ResponseHeader, ResponseBody), DecodeError>,
}

impl EarlyAnswer {
    /// Decodes `frame` (a response frame without its size prefix) as the answer to
    /// `request`; `None` if the frame does not carry `request`'s correlation id.
    pub fn decode(frame: &[u8], request: RequestIds) -> Option<EarlyAnswer> {
        if super::response_correlation_id(frame)? != request.correlation_id {
            return None;
        }
        Some(EarlyAnswer {
            request,
            response: super::decode_response(frame, request.api_key, request.version),
        })
    }

    /// The request this answer was decoded for.
    pub fn request(&self) -> RequestIds {
        self.request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(api: i16, version: i16, id: i32, body: usize) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&((IDS_END - 4 + body) as i32).to_be_bytes());
        f.extend_from_slice(&api.to_be_bytes());
        f.extend_from_slice(&version.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend(std::iter::repeat_n(0xAB, body));
        f
    }

    fn scanned(parts: &[Vec<u8>]) -> Vec<(i16, i16, i32)> {
        let mut got = Vec::new();
        RequestIds::scan(parts, |r| {
            got.push((r.api_key.0, r.version, r.correlation_id));
        });
        got
    }

    #[test]
    fn finds_every_frame_wherever_the_parts_are_cut() {
        let mut all = frame(0, 11, 7, 30);
        all.extend(frame(3, 12, 8, 0));
        all.extend(frame(0, 13, -5, 100));
        let want = vec![(0, 11, 7), (3, 12, 8), (0, 13, -5)];
        assert_eq!(scanned(std::slice::from_ref(&all)), want);
        // Every cut into two parts, and into one-byte parts.
        for cut in 0..=all.len() {
            let parts = vec![all[..cut].to_vec(), all[cut..].to_vec()];
            assert_eq!(scanned(&parts), want, "cut at {cut}");
        }
        let bytes: Vec<Vec<u8>> = all.iter().map(|b| vec![*b]).collect();
        assert_eq!(scanned(&bytes), want);
    }

    #[test]
    fn stops_at_a_frame_that_cannot_hold_its_ids_or_runs_past_the_end() {
        let mut all = frame(0, 9, 1, 4);
        all.extend(frame(0, 9, 2, 4));
        let whole = all.clone();
        // Truncated in the second frame's body: its ids are there, nothing after.
        all.truncate(whole.len() - 1);
        assert_eq!(scanned(&[all.clone()]), vec![(0, 9, 1), (0, 9, 2)]);
        // Truncated in the second frame's ids.
        assert_eq!(
            scanned(&[whole[..whole.len() - 8].to_vec()]),
            vec![(0, 9, 1)]
        );
        // A size too small for the ids, or negative.
        for size in [7i32, -1, i32::MIN] {
            let mut bad = whole.clone();
            bad[..4].copy_from_slice(&size.to_be_bytes());
            assert_eq!(scanned(&[bad]), vec![], "size {size}");
        }
        assert_eq!(scanned(&[]), vec![]);
    }

    /// An EndTxn v3 answer frame (without its size prefix) carrying `error_code`.
    fn end_txn_answer(id: i32, error_code: i16) -> Vec<u8> {
        let body = ResponseBody::EndTxn(crate::messages::EndTxnResponse {
            error_code,
            ..Default::default()
        });
        let mut wire = bytes::BytesMut::new();
        crate::frame::encode_response(&mut wire, id, &body, 3).expect("encodes");
        wire[4..].to_vec()
    }

    fn error_code(m: &crate::frame::Matched<u8>) -> i16 {
        match &m.response {
            Ok((_, ResponseBody::EndTxn(r))) => r.error_code,
            other => panic!("not an EndTxn answer: {other:?}"),
        }
    }

    #[test]
    fn the_correlator_takes_an_early_answer_only_for_the_request_it_matches() {
        let mut corr = crate::frame::Correlator::new();
        let first = corr.register(ApiKey::END_TXN, 3, true, 1u8);
        let second = corr.register(ApiKey::END_TXN, 3, true, 2u8);
        let frame = end_txn_answer(first, 0);
        let ids = |correlation_id, version| RequestIds {
            correlation_id,
            api_key: ApiKey::END_TXN,
            version,
        };
        // Decoded early from other bytes (error 47) for the same request: that decoding is
        // the one taken, the frame is not decoded again.
        let early = EarlyAnswer::decode(&end_txn_answer(first, 47), ids(first, 3));
        let m = corr.match_response_with(&frame, early).expect("matches");
        assert_eq!((m.context, error_code(&m)), (1, 47));
        // Decoded early as another version's answer: the correlator decodes the frame itself.
        let frame = end_txn_answer(second, 0);
        let early = EarlyAnswer::decode(&end_txn_answer(second, 47), ids(second, 2));
        let m = corr.match_response_with(&frame, early).expect("matches");
        assert_eq!((m.context, error_code(&m)), (2, 0));
        // An early answer never makes an answer match a request it does not answer.
        let stray = end_txn_answer(9, 0);
        let early = EarlyAnswer::decode(&stray, ids(9, 3));
        assert!(corr.match_response_with(&stray, early).is_err());
    }

    #[test]
    fn decodes_only_the_answer_carrying_the_request_s_id() {
        let request = RequestIds {
            correlation_id: 42,
            api_key: ApiKey::METADATA,
            version: 1,
        };
        assert!(EarlyAnswer::decode(&43i32.to_be_bytes(), request).is_none());
        assert!(EarlyAnswer::decode(&[0, 0], request).is_none());
        // The right id over a body that does not decode: an answer whose decoding failed.
        let early = EarlyAnswer::decode(&[0, 0, 0, 42, 1], request).expect("its id");
        assert_eq!(early.request(), request);
        assert!(early.response.is_err());
    }
}
