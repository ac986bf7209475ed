//! [`LazyArray`]: an array field whose elements stay encoded until they are read.
//!
//! A Metadata answer for a million partitions is tens of megabytes on the wire, but
//! a `Vec` of decoded partition structures (with three `Vec<i32>`s each) takes
//! several times that, and it has to exist next to whatever is built from it.
//! A `LazyArray` decoded from the wire instead keeps the elements' bytes, after
//! checking at decode time that every element decodes (malformed input is an
//! error there and then, never later). Reading decodes one element at a time:
//! [`LazyArray::iter`] by reference, or `into_iter` by value, which also frees
//! the encoded bytes as it passes them, so what is left encoded shrinks while
//! what is built from the elements grows.
//!
//! Built from a `Vec` (`From`, `collect`) the array is simply that `Vec`. Either
//! form encodes at any version: bytes kept from a decode at the same version are
//! copied as they are, otherwise each element is decoded and re-encoded.
//! Equality compares elements, whatever the form.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Index, IndexMut};
use std::sync::OnceLock;

use bytes::{Buf, BufMut, Bytes};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{self as p, PResult};
use crate::types::{Ctx, Nullable, Wire, check_len, skip_array, skip_non_null};

/// Encoded bytes kept per chunk (a chunk ends after the element that reaches this
/// size). Consuming iteration frees a chunk as soon as its last element is decoded.
const CHUNK: usize = 64 * 1024;

/// An array field that keeps the elements it decodes in their encoded form and
/// decodes them one at a time when read; see the [module docs](self).
///
/// It encodes, sizes and decodes exactly like `Vec<T>` (same length prefix,
/// same limits); only the in-memory form differs.
#[derive(Clone)]
pub struct LazyArray<T> {
    repr: Repr<T>,
}

#[derive(Clone)]
enum Repr<T> {
    /// Elements in memory (built by the caller, or decoded for indexing and mutation).
    Decoded(Vec<T>),
    /// Elements as they were on the wire.
    Encoded(Encoded<T>),
}

#[derive(Clone)]
struct Encoded<T> {
    /// The elements' bytes in order, cut between elements: no chunk is empty and no
    /// element spans two chunks. Every element was checked ([`Wire::skip`]) when the
    /// array was decoded, so each decodes again.
    chunks: Vec<Bytes>,
    /// Number of elements.
    len: usize,
    /// The context the elements were decoded in (and decode in again).
    ctx: Ctx,
    /// Every element, decoded the first time a slice is asked for ([`LazyArray::as_slice`]).
    slice: OnceLock<Vec<T>>,
}

impl<T> LazyArray<T> {
    /// An empty array.
    pub const fn new() -> Self {
        Self {
            repr: Repr::Decoded(Vec::new()),
        }
    }

    /// The number of elements (known without decoding any).
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Decoded(v) => v.len(),
            Repr::Encoded(e) => e.len,
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the elements are kept encoded (the array was decoded and not yet
    /// turned into a `Vec` by [`LazyArray::as_slice`] or [`LazyArray::to_mut`]).
    pub fn is_encoded(&self) -> bool {
        match &self.repr {
            Repr::Decoded(_) => false,
            Repr::Encoded(e) => e.slice.get().is_none(),
        }
    }

    /// The bytes kept from a decode in context `ctx` (none for any other context,
    /// or when the elements are in memory).
    fn raw_at(&self, ctx: Ctx) -> Option<&[Bytes]> {
        match &self.repr {
            Repr::Encoded(e) if e.ctx == ctx => Some(&e.chunks),
            _ => None,
        }
    }
}

impl<T: Wire + Clone> LazyArray<T> {
    /// Iterates over the elements, decoding each in turn when they are kept
    /// encoded (`Cow::Owned`), borrowing them when they are in memory.
    pub fn iter(&self) -> Iter<'_, T> {
        let inner = match &self.repr {
            Repr::Decoded(v) => IterRepr::Decoded(v.iter()),
            Repr::Encoded(e) => match e.slice.get() {
                Some(v) => IterRepr::Decoded(v.iter()),
                None => IterRepr::Encoded {
                    chunks: e.chunks.iter(),
                    current: &[],
                    ctx: e.ctx,
                    left: e.len,
                },
            },
        };
        Iter { inner }
    }

    /// All elements as a slice. An array kept encoded is decoded completely on
    /// the first call and the elements are kept with the bytes, which costs the
    /// memory this type exists to save: prefer [`LazyArray::iter`].
    pub fn as_slice(&self) -> &[T] {
        match &self.repr {
            Repr::Decoded(v) => v,
            Repr::Encoded(e) => e
                .slice
                .get_or_init(|| self.iter().map(Cow::into_owned).collect()),
        }
    }

    /// The elements in a `Vec`, to modify them; decodes them first if they are
    /// kept encoded (and drops the encoded bytes).
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        if let Repr::Encoded(e) = &mut self.repr {
            let v = match e.slice.take() {
                Some(v) => v,
                None => std::mem::take(self).into_iter().collect(),
            };
            self.repr = Repr::Decoded(v);
        }
        match &mut self.repr {
            Repr::Decoded(v) => v,
            Repr::Encoded(_) => unreachable!("just decoded"),
        }
    }

    /// Appends an element (see [`LazyArray::to_mut`]).
    pub fn push(&mut self, item: T) {
        self.to_mut().push(item);
    }

    /// The elements, decoded, in a new `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// The elements in a `Vec`, decoding them if they are kept encoded.
    pub fn into_vec(self) -> Vec<T> {
        match self.repr {
            Repr::Decoded(v) => v,
            Repr::Encoded(_) => self.into_iter().collect(),
        }
    }
}

impl<T> Default for LazyArray<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> From<Vec<T>> for LazyArray<T> {
    fn from(v: Vec<T>) -> Self {
        Self {
            repr: Repr::Decoded(v),
        }
    }
}

impl<T: Wire + Clone> From<LazyArray<T>> for Vec<T> {
    fn from(a: LazyArray<T>) -> Self {
        a.into_vec()
    }
}

impl<T> FromIterator<T> for LazyArray<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Vec::from_iter(iter).into()
    }
}

impl<T: Wire + Clone + fmt::Debug> fmt::Debug for LazyArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Wire + Clone + PartialEq> PartialEq for LazyArray<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Wire + Clone + Eq> Eq for LazyArray<T> {}

impl<T: Wire + Clone> Index<usize> for LazyArray<T> {
    type Output = T;

    /// The element at `index` (see [`LazyArray::as_slice`] for the cost).
    fn index(&self, index: usize) -> &T {
        &self.as_slice()[index]
    }
}

impl<T: Wire + Clone> IndexMut<usize> for LazyArray<T> {
    /// The element at `index`, to modify (see [`LazyArray::to_mut`] for the cost).
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.to_mut()[index]
    }
}

impl<'a, T: Wire + Clone> IntoIterator for &'a LazyArray<T> {
    type Item = Cow<'a, T>;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Wire + Clone> IntoIterator for LazyArray<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    /// Iterates by value, decoding each element in turn and freeing each chunk of
    /// encoded bytes once passed (unless the array was cloned and a clone still
    /// holds it).
    fn into_iter(self) -> IntoIter<T> {
        let inner = match self.repr {
            Repr::Decoded(v) => IntoIterRepr::Decoded(v.into_iter()),
            Repr::Encoded(mut e) => match e.slice.take() {
                Some(v) => IntoIterRepr::Decoded(v.into_iter()),
                None => IntoIterRepr::Encoded {
                    chunks: e.chunks.into_iter(),
                    current: Bytes::new(),
                    ctx: e.ctx,
                    left: e.len,
                },
            },
        };
        IntoIter { inner }
    }
}

/// Iterator over a [`LazyArray`] by reference ([`LazyArray::iter`]).
pub struct Iter<'a, T> {
    inner: IterRepr<'a, T>,
}

enum IterRepr<'a, T> {
    Decoded(std::slice::Iter<'a, T>),
    Encoded {
        chunks: std::slice::Iter<'a, Bytes>,
        current: &'a [u8],
        ctx: Ctx,
        left: usize,
    },
}

impl<'a, T: Wire + Clone> Iterator for Iter<'a, T> {
    type Item = Cow<'a, T>;

    fn next(&mut self) -> Option<Cow<'a, T>> {
        match &mut self.inner {
            IterRepr::Decoded(it) => it.next().map(Cow::Borrowed),
            IterRepr::Encoded {
                chunks,
                current,
                ctx,
                left,
            } => {
                if *left == 0 {
                    return None;
                }
                if current.is_empty() {
                    *current = chunks.next()?;
                }
                let Ok((rest, item)) = T::decode(current, *ctx, false) else {
                    // Not reachable: these bytes decoded in this context when the
                    // array was decoded, and decoding depends on nothing else.
                    *left = 0;
                    return None;
                };
                *current = rest;
                *left -= 1;
                Some(Cow::Owned(item))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            IterRepr::Decoded(it) => it.size_hint(),
            IterRepr::Encoded { left, .. } => (*left, Some(*left)),
        }
    }
}

impl<T: Wire + Clone> ExactSizeIterator for Iter<'_, T> {}

/// Iterator over a [`LazyArray`] by value.
pub struct IntoIter<T> {
    inner: IntoIterRepr<T>,
}

enum IntoIterRepr<T> {
    Decoded(std::vec::IntoIter<T>),
    Encoded {
        chunks: std::vec::IntoIter<Bytes>,
        /// What is left of the chunk being read.
        current: Bytes,
        ctx: Ctx,
        left: usize,
    },
}

impl<T: Wire> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match &mut self.inner {
            IntoIterRepr::Decoded(it) => it.next(),
            IntoIterRepr::Encoded {
                chunks,
                current,
                ctx,
                left,
            } => {
                if *left == 0 {
                    return None;
                }
                if current.is_empty() {
                    *current = chunks.next()?;
                }
                let Ok((rest, item)) = T::decode(current, *ctx, false) else {
                    // Not reachable, as in `Iter::next`.
                    *left = 0;
                    return None;
                };
                let used = current.len() - rest.len();
                *left -= 1;
                if used == current.len() {
                    // The chunk's last element: free the chunk before handing it out.
                    *current = Bytes::new();
                } else {
                    current.advance(used);
                }
                Some(item)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            IntoIterRepr::Decoded(it) => it.size_hint(),
            IntoIterRepr::Encoded { left, .. } => (*left, Some(*left)),
        }
    }
}

impl<T: Wire> ExactSizeIterator for IntoIter<T> {}

fn err<T>(kind: DecodeErrorKind) -> PResult<'static, T> {
    Err(nom::Err::Error(DecodeError::new(kind)))
}

impl<T: Wire + Clone> Wire for LazyArray<T> {
    fn encode<B: BufMut>(&self, buf: &mut B, ctx: Ctx, _n: bool) -> Result<(), EncodeError> {
        check_len(self.len(), true)?;
        p::put_length(buf, Some(self.len()), ctx.flexible, true);
        if let Some(chunks) = self.raw_at(ctx) {
            for chunk in chunks {
                buf.put_slice(chunk);
            }
            return Ok(());
        }
        for item in self {
            item.encode(buf, ctx, false)?;
        }
        Ok(())
    }

    fn encoded_len(&self, ctx: Ctx) -> usize {
        let items: usize = match self.raw_at(ctx) {
            Some(chunks) => chunks.iter().map(Bytes::len).sum(),
            None => self.iter().map(|i| i.encoded_len(ctx)).sum(),
        };
        p::length_len(Some(self.len()), ctx.flexible, true) + items
    }

    fn decode(input: &[u8], ctx: Ctx, _n: bool) -> PResult<'_, Self> {
        match Self::decode_nullable(input, ctx)? {
            (rest, Some(v)) => Ok((rest, v)),
            (_, None) => err(DecodeErrorKind::UnexpectedNull),
        }
    }

    fn skip(input: &[u8], ctx: Ctx, _n: bool) -> PResult<'_, ()> {
        skip_non_null::<Self>(input, ctx)
    }
}

impl<T: Wire + Clone> Nullable for LazyArray<T> {
    fn encode_null<B: BufMut>(buf: &mut B, ctx: Ctx) {
        p::put_length(buf, None, ctx.flexible, true);
    }

    fn null_len(ctx: Ctx) -> usize {
        p::length_len(None, ctx.flexible, true)
    }

    fn decode_nullable(input: &[u8], ctx: Ctx) -> PResult<'_, Option<Self>> {
        // As for `Vec<T>`: every element takes at least one byte, so the count is
        // bounded by the bytes left; and nothing is reserved from it here.
        let (mut rest, len) = p::get_length(input, ctx.flexible, true, 1)?;
        let Some(len) = len else {
            return Ok((rest, None));
        };
        if len == 0 {
            return Ok((rest, Some(Self::new())));
        }
        let mut chunks = Vec::new();
        // Where the chunk being gathered starts.
        let mut chunk = rest;
        for _ in 0..len {
            let before = rest.len();
            // Checked without being built: only the bytes are kept.
            let (r, ()) = T::skip(rest, ctx, false)?;
            if r.len() == before {
                // A zero-sized element would let a count repeat without bound.
                return err(DecodeErrorKind::Malformed);
            }
            rest = r;
            let used = chunk.len() - rest.len();
            if used >= CHUNK {
                chunks.push(Bytes::copy_from_slice(&chunk[..used]));
                chunk = rest;
            }
        }
        let used = chunk.len() - rest.len();
        if used > 0 {
            chunks.push(Bytes::copy_from_slice(&chunk[..used]));
        }
        let encoded = Encoded {
            chunks,
            len,
            ctx,
            slice: OnceLock::new(),
        };
        Ok((
            rest,
            Some(Self {
                repr: Repr::Encoded(encoded),
            }),
        ))
    }

    fn skip_nullable(input: &[u8], ctx: Ctx) -> PResult<'_, bool> {
        let (rest, len) = skip_array::<T>(input, ctx)?;
        Ok((rest, len.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::message::Message;
    use crate::messages::metadata::{
        MetadataResponse, MetadataResponsePartition, MetadataResponseTopic,
    };

    const FLEX: Ctx = Ctx {
        version: 12,
        flexible: true,
    };

    fn encode<W: Wire>(w: &W, ctx: Ctx) -> Vec<u8> {
        let mut buf = Vec::new();
        w.encode(&mut buf, ctx, false).unwrap();
        assert_eq!(buf.len(), w.encoded_len(ctx), "computed size");
        buf
    }

    fn decode<W: Wire>(bytes: &[u8], ctx: Ctx) -> W {
        let (rest, w) = W::decode(bytes, ctx, false).unwrap();
        assert!(rest.is_empty());
        w
    }

    fn partition(i: i32) -> MetadataResponsePartition {
        MetadataResponsePartition {
            partition_index: i,
            leader_id: i % 3,
            leader_epoch: i,
            replica_nodes: vec![0, 1, 2],
            isr_nodes: vec![i % 3],
            offline_replicas: vec![],
            ..Default::default()
        }
    }

    #[test]
    fn decoded_arrays_keep_bytes_in_chunks_and_read_back_equal() {
        // 40,000 partitions of ~40 bytes: some two dozen chunks.
        let built: LazyArray<MetadataResponsePartition> = (0..40_000).map(partition).collect();
        assert!(!built.is_encoded());
        let bytes = encode(&built, FLEX);
        let lazy: LazyArray<MetadataResponsePartition> = decode(&bytes, FLEX);
        assert!(lazy.is_encoded());
        assert_eq!(lazy.len(), 40_000);
        let Repr::Encoded(e) = &lazy.repr else {
            panic!("kept encoded")
        };
        assert!(e.chunks.len() > 10);
        assert!(
            e.chunks
                .iter()
                .all(|c| !c.is_empty() && c.len() < 2 * CHUNK)
        );
        // Equal whatever the form, and every way of reading gives the same elements.
        assert_eq!(lazy, built);
        assert_eq!(built, lazy);
        assert!(lazy.iter().map(|p| p.partition_index).eq(0..40_000));
        assert_eq!(lazy.iter().len(), 40_000);
        assert_eq!(lazy.to_vec(), built.as_slice());
        assert_eq!(lazy.clone().into_iter().len(), 40_000);
        assert!(
            lazy.clone()
                .into_iter()
                .map(|p| p.partition_index)
                .eq(0..40_000)
        );
        assert_eq!(lazy[39_999], partition(39_999));
        assert!(!lazy.is_encoded(), "indexing decoded the elements");
        assert_eq!(lazy.iter().nth(7).unwrap().as_ref(), &partition(7));
        assert_eq!(format!("{lazy:?}"), format!("{built:?}"));
        // The same bytes again, copied rather than re-encoded.
        assert_eq!(encode(&lazy, FLEX), bytes);
    }

    #[test]
    fn kept_bytes_reencode_at_other_versions() {
        let built: LazyArray<MetadataResponsePartition> = (0..100).map(partition).collect();
        for (from, to) in [(12, 4), (4, 12), (12, 5), (7, 12), (9, 8)] {
            let ctx = |v: i16| MetadataResponse::ctx(v);
            let lazy: LazyArray<MetadataResponsePartition> =
                decode(&encode(&built, ctx(from)), ctx(from));
            assert!(lazy.is_encoded());
            let direct = encode(
                &built
                    .iter()
                    .map(|p| {
                        // What survives at the lower of the two versions.
                        let mut p = p.into_owned();
                        if from.min(to) < 7 {
                            p.leader_epoch = -1;
                        }
                        if from.min(to) < 5 {
                            p.offline_replicas = vec![];
                        }
                        p
                    })
                    .collect::<LazyArray<_>>(),
                ctx(to),
            );
            assert_eq!(encode(&lazy, ctx(to)), direct, "v{from} -> v{to}");
        }
    }

    #[test]
    fn mutation_decodes_first() {
        let built: LazyArray<i32> = (0..10).collect();
        let mut lazy: LazyArray<i32> = decode(&encode(&built, FLEX), FLEX);
        lazy.push(10);
        assert!(!lazy.is_encoded());
        assert_eq!(lazy.into_vec(), (0..=10).collect::<Vec<_>>());
        let empty: LazyArray<i32> = decode(&[1], FLEX);
        assert!(empty.is_empty());
        assert_eq!(empty, LazyArray::default());
    }

    #[test]
    fn consuming_iteration_frees_the_chunks_it_has_passed() {
        let built: LazyArray<i32> = (0..100_000).collect();
        let lazy: LazyArray<i32> = decode(&encode(&built, FLEX), FLEX);
        let mut it = lazy.into_iter();
        let IntoIterRepr::Encoded { chunks, .. } = &it.inner else {
            panic!("kept encoded")
        };
        let total = chunks.len();
        assert!(total > 4);
        // The first chunk's elements, and the first element of the next.
        let per_chunk = CHUNK / 4;
        for i in 0..=per_chunk {
            assert_eq!(it.next(), Some(i as i32));
        }
        let IntoIterRepr::Encoded {
            chunks, current, ..
        } = &it.inner
        else {
            panic!("kept encoded")
        };
        assert_eq!(
            chunks.len(),
            total - 2,
            "first chunk gone, second being read"
        );
        assert_eq!(current.len(), CHUNK - 4);
        assert_eq!(it.len(), 100_000 - per_chunk - 1);
        assert_eq!(it.last(), Some(99_999));
    }

    /// A Metadata v1 response: no brokers, controller 0, one topic "t" whose
    /// partition array is `partitions` (count included).
    fn metadata_v1(partitions: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, b't', 0];
        b.extend_from_slice(partitions);
        b
    }

    /// A v1 partition: no error, `index`, leader 0, replicas `[0]`, isr `[0]`.
    fn partition_v1(index: i32) -> Vec<u8> {
        let mut b = vec![0, 0];
        b.extend_from_slice(&index.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn malformed_elements_fail_at_decode_time() {
        // Well-formed: two partitions.
        let mut two = vec![0, 0, 0, 2];
        two.extend(partition_v1(0));
        two.extend(partition_v1(1));
        let ok = MetadataResponse::decode_body(&metadata_v1(&two), 1).unwrap();
        let parts = &ok.topics[0].partitions;
        assert!(parts.is_encoded());
        assert_eq!(
            parts.iter().map(|p| p.partition_index).collect::<Vec<_>>(),
            [0, 1]
        );

        // The second partition cut short: an error naming it, at decode time.
        for cut in 1..partition_v1(1).len() {
            let bytes = metadata_v1(&two[..two.len() - cut]);
            let err = MetadataResponse::decode_body(&bytes, 1).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    DecodeErrorKind::Truncated | DecodeErrorKind::InvalidLength(_)
                ),
                "{err}"
            );
            assert_eq!(
                err.location().unwrap().structure,
                "MetadataResponsePartition"
            );
            assert_eq!(err.message(), Some("MetadataResponse"));
        }

        // A replica count far beyond the bytes left.
        let mut bad = vec![0, 0, 0, 1];
        let mut p = partition_v1(0);
        p[10..14].copy_from_slice(&0x7fff_ffffi32.to_be_bytes());
        bad.extend(p);
        let err = MetadataResponse::decode_body(&metadata_v1(&bad), 1).unwrap_err();
        assert_eq!(*err.kind(), DecodeErrorKind::InvalidLength(0x7fff_ffff));
        let at = err.location().unwrap();
        assert_eq!(
            (at.structure, at.field),
            ("MetadataResponsePartition", "replica_nodes")
        );

        // A partition count far beyond the bytes left.
        let err =
            MetadataResponse::decode_body(&metadata_v1(&[0x7f, 0xff, 0xff, 0xff]), 1).unwrap_err();
        assert_eq!(*err.kind(), DecodeErrorKind::InvalidLength(0x7fff_ffff));
        let at = err.location().unwrap();
        assert_eq!(
            (at.structure, at.field),
            ("MetadataResponseTopic", "partitions")
        );

        // A topic count far beyond the bytes left (v12: compact count 2^28).
        let err = MetadataResponse::decode_body(
            &[
                0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0x80, 0x80, 0x80, 0x01,
            ],
            12,
        )
        .unwrap_err();
        assert!(
            matches!(err.kind(), DecodeErrorKind::InvalidLength(_)),
            "{err}"
        );
        assert_eq!(err.location().unwrap().field, "topics");
    }

    #[test]
    fn flexible_truncations_fail_at_decode_time() {
        let topic = MetadataResponseTopic {
            name: Some("t".into()),
            partitions: (0..3).map(partition).collect(),
            ..Default::default()
        };
        let resp = MetadataResponse {
            topics: vec![topic].into(),
            ..Default::default()
        };
        for version in [9, 12, 13] {
            let mut buf = BytesMut::new();
            resp.encode_body(&mut buf, version).unwrap();
            assert_eq!(MetadataResponse::decode_body(&buf, version).unwrap(), resp);
            for cut in 0..buf.len() {
                assert!(MetadataResponse::decode_body(&buf[..cut], version).is_err());
            }
        }
    }
}
