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

use crate::error::EncodeError;
use crate::primitives::{self as p, PResult};
use crate::types::{
    Ctx, Nullable, Wire, array_element, check_len, decode_non_null, skip_array, skip_non_null,
};

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

/// Decodes the next of the `left` elements from `chunk` (what is left of the chunk being read);
/// returns it and the bytes it took. `None` when no element is left.
fn next_encoded<T: Wire>(chunk: &[u8], ctx: Ctx, left: &mut usize) -> Option<(T, usize)> {
    if *left == 0 {
        return None;
    }
    let Ok((rest, item)) = T::decode(chunk, ctx, false) else {
        // Not reachable: these bytes decoded in this context when the array was decoded,
        // and decoding depends on nothing else.
        *left = 0;
        return None;
    };
    *left -= 1;
    Some((item, chunk.len() - rest.len()))
}

/// [`next_encoded`] from `current` (what is left of the chunk being read), after moving on to
/// the next chunk when `current` is used up and elements are left.
fn next_in_chunks<T: Wire, C: AsRef<[u8]>>(
    next_chunk: impl FnOnce() -> Option<C>,
    current: &mut C,
    ctx: Ctx,
    left: &mut usize,
) -> Option<(T, usize)> {
    if current.as_ref().is_empty() && *left > 0 {
        *current = next_chunk()?;
    }
    next_encoded(current.as_ref(), ctx, left)
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
                let (item, used) =
                    next_in_chunks(|| chunks.next().map(|b| &b[..]), current, *ctx, left)?;
                *current = &current[used..];
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
                let (item, used) = next_in_chunks(|| chunks.next(), current, *ctx, left)?;
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
        decode_non_null(input, ctx)
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
            // Checked without being built: only the bytes are kept.
            (rest, ()) = array_element(rest, |r| T::skip(r, ctx, false))?;
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
mod tests;
