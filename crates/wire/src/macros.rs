//! The declaration language for protocol structures.
//!
//! Every message and nested structure is declared once with `wire_struct!`:
//!
//! ```text
//! wire_struct! {
//!     /// Docs.
//!     pub struct PartitionProduceResponse {
//!         /// Docs for the field.
//!         index: i32 [..],
//!         log_start_offset: i64 [5..] = -1,
//!         error_message: Option<String> [8..] null [8..],
//!         current_leader: LeaderIdAndEpoch [10..] tag 0,
//!     }
//! }
//! ```
//!
//! - `[range]`: the versions in which the field exists (`..` for all, `5..`, `0..=3`).
//!   Outside them the field is not on the wire and decodes to its default.
//! - `null [range]`: the versions in which an `Option` field may be null.
//! - `tag N`: the field is a tagged field (flexible versions only) with tag N;
//!   tagged fields equal to their default are not written, as in the Java client.
//!   Declare tagged fields in increasing tag order.
//! - `= expr`: the default (otherwise `Default::default()`).
//!
//! The macro derives the struct, `Default`, the [`Wire`](crate::types::Wire)
//! implementation (encode, size, decode, and skip: decode's checks without
//! building the value; all including the tagged-field section and unknown tags)
//! and, in tests, a proptest strategy that generates only values valid at a
//! given version. `api_message!` then attaches the API key, the
//! supported versions and the flexible versions to a top-level structure.
//! Adding a version to a message is a change to its range and to the ranges
//! of the fields that version adds.

/// Declares a protocol structure; see the [module docs](self).
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty [$($ver:tt)*]
                    $(null [$($nv:tt)*])?
                    $(tag $tag:literal)?
                    $(= $def:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        // Not `#[non_exhaustive]`: callers build messages with struct literals
        // ending in `..Default::default()`, which keeps working when a version
        // adds a field.
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[doc = concat!("\n\nVersions: `", stringify!($($ver)*), "`",
                    $(", nullable in `", stringify!($($nv)*), "`",)?
                    $(", tagged field ", stringify!($tag),)? ".")]
                pub $field: $ty,
            )*
            /// Tagged fields this version does not know, kept and re-encoded unchanged.
            pub unknown_tagged_fields: $crate::types::TaggedFields,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: $crate::macros::field_default!($ty $(, $def)?), )*
                    unknown_tagged_fields: $crate::types::TaggedFields::new(),
                }
            }
        }

        impl $crate::types::Wire for $name {
            #[allow(unused_variables, unused_mut)]
            fn encode<B: ::bytes::BufMut>(
                &self,
                buf: &mut B,
                ctx: $crate::types::Ctx,
                _nullable: bool,
            ) -> Result<(), $crate::error::EncodeError> {
                $(
                    $crate::macros::when_untagged!([$($tag)?] {
                        if $crate::types::in_range($($ver)*, ctx.version) {
                            let nullable = $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                            self.$field
                                .encode(buf, ctx, nullable)
                                .map_err(|e| e.at(stringify!($name), ctx.version, stringify!($field)))?;
                        }
                    });
                )*
                if ctx.flexible {
                    let mut count = self.unknown_tagged_fields.len();
                    $(
                        $crate::macros::when_tagged!([$($tag)?] {
                            if $crate::types::in_range($($ver)*, ctx.version) {
                                let tag: u32 = $crate::macros::first!($($tag)?);
                                if self.unknown_tagged_fields.contains_key(&tag) {
                                    return Err($crate::error::EncodeError::new(
                                        $crate::error::EncodeErrorKind::DuplicateTag(tag),
                                    )
                                    .at(stringify!($name), ctx.version, "unknown_tagged_fields"));
                                }
                                if self.$field != $crate::macros::field_default!($ty $(, $def)?) {
                                    count += 1;
                                }
                            }
                        });
                    )*
                    $crate::primitives::put_uvarint(buf, count as u32);
                    let mut unknown = self.unknown_tagged_fields.iter().peekable();
                    $(
                        $crate::macros::when_tagged!([$($tag)?] {
                            if $crate::types::in_range($($ver)*, ctx.version)
                                && self.$field != $crate::macros::field_default!($ty $(, $def)?)
                            {
                                let tag: u32 = $crate::macros::first!($($tag)?);
                                $crate::types::put_unknown_tags_below(buf, &mut unknown, Some(tag));
                                let nullable = $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                                $crate::primitives::put_uvarint(buf, tag);
                                $crate::primitives::put_uvarint(buf, self.$field.encoded_len(ctx) as u32);
                                self.$field
                                    .encode(buf, ctx, nullable)
                                    .map_err(|e| e.at(stringify!($name), ctx.version, stringify!($field)))?;
                            }
                        });
                    )*
                    $crate::types::put_unknown_tags_below(buf, &mut unknown, None);
                }
                Ok(())
            }

            #[allow(unused_mut)]
            fn encoded_len(&self, ctx: $crate::types::Ctx) -> usize {
                let mut len = 0usize;
                $(
                    $crate::macros::when_untagged!([$($tag)?] {
                        if $crate::types::in_range($($ver)*, ctx.version) {
                            len += self.$field.encoded_len(ctx);
                        }
                    });
                )*
                if ctx.flexible {
                    let mut count = self.unknown_tagged_fields.len();
                    len += $crate::types::unknown_tags_len(&self.unknown_tagged_fields);
                    $(
                        $crate::macros::when_tagged!([$($tag)?] {
                            if $crate::types::in_range($($ver)*, ctx.version)
                                && self.$field != $crate::macros::field_default!($ty $(, $def)?)
                            {
                                let tag: u32 = $crate::macros::first!($($tag)?);
                                let size = self.$field.encoded_len(ctx);
                                count += 1;
                                len += $crate::primitives::uvarint_len(tag)
                                    + $crate::primitives::uvarint_len(size as u32)
                                    + size;
                            }
                        });
                    )*
                    len += $crate::primitives::uvarint_len(count as u32);
                }
                len
            }

            #[allow(unused_mut, unused_variables)]
            fn decode(
                input: &[u8],
                ctx: $crate::types::Ctx,
                _nullable: bool,
            ) -> $crate::primitives::PResult<'_, Self> {
                let mut out = Self::default();
                let mut rest = input;
                $(
                    $crate::macros::when_untagged!([$($tag)?] {
                        if $crate::types::in_range($($ver)*, ctx.version) {
                            let nullable = $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                            let (r, v) = <$ty>::decode(rest, ctx, nullable).map_err(|e| {
                                e.map(|e| e.at(stringify!($name), ctx.version, stringify!($field)))
                            })?;
                            out.$field = v;
                            rest = r;
                        }
                    });
                )*
                if ctx.flexible {
                    let (r, ()) = $crate::macros::each_tagged_field(
                        rest,
                        stringify!($name),
                        ctx.version,
                        |tag, data| {
                            $(
                                $crate::macros::when_tagged!([$($tag)?] {
                                    if tag == $crate::macros::first!($($tag)?)
                                        && $crate::types::in_range($($ver)*, ctx.version)
                                    {
                                        let nullable =
                                            $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                                        let (left, v) = <$ty>::decode(data, ctx, nullable).map_err(|e| {
                                            e.map(|e| e.at(stringify!($name), ctx.version, stringify!($field)))
                                        })?;
                                        $crate::macros::tagged_value_ends(
                                            left,
                                            tag,
                                            stringify!($name),
                                            ctx.version,
                                            stringify!($field),
                                        )?;
                                        out.$field = v;
                                        return Ok(());
                                    }
                                });
                            )*
                            out.unknown_tagged_fields
                                .insert(tag, ::bytes::Bytes::copy_from_slice(data));
                            Ok(())
                        },
                    )?;
                    rest = r;
                }
                Ok((rest, out))
            }

            // `decode` without building anything: the same checks in the same order,
            // hence the same errors.
            #[allow(unused_mut, unused_variables)]
            fn skip(
                input: &[u8],
                ctx: $crate::types::Ctx,
                _nullable: bool,
            ) -> $crate::primitives::PResult<'_, ()> {
                let mut rest = input;
                $(
                    $crate::macros::when_untagged!([$($tag)?] {
                        if $crate::types::in_range($($ver)*, ctx.version) {
                            let nullable = $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                            let (r, ()) = <$ty>::skip(rest, ctx, nullable).map_err(|e| {
                                e.map(|e| e.at(stringify!($name), ctx.version, stringify!($field)))
                            })?;
                            rest = r;
                        }
                    });
                )*
                if ctx.flexible {
                    let (r, ()) = $crate::macros::each_tagged_field(
                        rest,
                        stringify!($name),
                        ctx.version,
                        |tag, data| {
                            $(
                                $crate::macros::when_tagged!([$($tag)?] {
                                    if tag == $crate::macros::first!($($tag)?)
                                        && $crate::types::in_range($($ver)*, ctx.version)
                                    {
                                        let nullable =
                                            $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                                        let (left, ()) = <$ty>::skip(data, ctx, nullable).map_err(|e| {
                                            e.map(|e| e.at(stringify!($name), ctx.version, stringify!($field)))
                                        })?;
                                        $crate::macros::tagged_value_ends(
                                            left,
                                            tag,
                                            stringify!($name),
                                            ctx.version,
                                            stringify!($field),
                                        )?;
                                        return Ok(());
                                    }
                                });
                            )*
                            // Unknown tags are kept as bytes by `decode`: nothing to check.
                            Ok(())
                        },
                    )?;
                    rest = r;
                }
                Ok((rest, ()))
            }
        }

        #[cfg(test)]
        impl $crate::testgen::Gen for $name {
            #[allow(unused_mut, unused_variables)]
            fn strategy(ctx: $crate::types::Ctx, _nullable: bool) -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::{Just, Strategy};
                let mut s = Just(Self::default()).boxed();
                $(
                    if $crate::types::in_range($($ver)*, ctx.version)
                        && ($crate::macros::is_untagged!([$($tag)?]) || ctx.flexible)
                    {
                        let nullable = $crate::macros::nullable_in!([$($($nv)*)?], ctx.version);
                        s = (s, <$ty as $crate::testgen::Gen>::strategy(ctx, nullable))
                            .prop_map(|(mut m, v)| {
                                m.$field = v;
                                m
                            })
                            .boxed();
                    }
                )*
                if ctx.flexible {
                    s = (s, $crate::testgen::unknown_tags())
                        .prop_map(|(mut m, t)| {
                            m.unknown_tagged_fields = t;
                            m
                        })
                        .boxed();
                }
                s
            }
        }
    };
}

/// The default of a field: the declared expression or `Default::default()`.
macro_rules! field_default {
    ($ty:ty) => {
        <$ty as Default>::default()
    };
    ($ty:ty, $def:expr) => {{
        let d: $ty = $def;
        d
    }};
}

/// Whether a field is nullable at `version`: never when no `null [..]` is declared.
macro_rules! nullable_in {
    ([], $v:expr) => {
        false
    };
    ([$($r:tt)+], $v:expr) => {
        $crate::types::in_range($($r)+, $v)
    };
}

/// Expands the block only for fields without a tag.
macro_rules! when_untagged {
    ([] $body:block) => {
        $body
    };
    ([$tag:literal] $body:block) => {};
}

/// Expands the block only for tagged fields.
macro_rules! when_tagged {
    ([] $body:block) => {};
    ([$tag:literal] $body:block) => {
        $body
    };
}

/// `true` for fields without a tag.
#[allow(unused_macros)]
macro_rules! is_untagged {
    ([]) => {
        true
    };
    ([$tag:literal]) => {
        false
    };
}

/// The tag literal itself.
macro_rules! first {
    ($tag:literal) => {
        $tag
    };
}

/// Makes a declared structure a top-level API message.
macro_rules! api_message {
    ($name:ident, $key:expr, versions $min:literal ..= $max:literal, flexible($($fl:tt)*)) => {
        impl $crate::message::Message for $name {
            const NAME: &'static str = stringify!($name);
            const API_KEY: $crate::api::ApiKey = $key;
            const MIN_VERSION: i16 = $min;
            const MAX_VERSION: i16 = $max;
            fn is_flexible(version: i16) -> bool {
                $crate::types::in_range($($fl)*, version)
            }
        }
    };
}

use crate::error::{DecodeError, DecodeErrorKind};

/// Reads the count of a flexible structure's tagged fields (for the generated decoders).
/// Each tagged field takes at least two bytes (tag and size), so a count the bytes left
/// cannot hold is an error before anything is read.
pub(crate) fn tagged_count<'a>(
    input: &'a [u8],
    structure: &'static str,
    version: i16,
) -> crate::primitives::PResult<'a, u32> {
    let at = |e: DecodeError| e.at(structure, version, "tagged fields");
    let (rest, count) = crate::primitives::get_uvarint(input).map_err(|e| e.map(at))?;
    if (count as usize).saturating_mul(2) > rest.len() {
        return Err(nom::Err::Error(at(DecodeError::new(
            DecodeErrorKind::InvalidLength(i64::from(count)),
        ))));
    }
    Ok((rest, count))
}

/// Reads the tagged fields of a flexible version (for the generated decoders): `field` gets
/// each one's tag and bytes, in order.
pub(crate) fn each_tagged_field<'a>(
    input: &'a [u8],
    structure: &'static str,
    version: i16,
    mut field: impl FnMut(u32, &'a [u8]) -> Result<(), nom::Err<DecodeError>>,
) -> crate::primitives::PResult<'a, ()> {
    let (mut rest, count) = tagged_count(input, structure, version)?;
    for _ in 0..count {
        let (r, (tag, data)) = tagged_field(rest, structure, version)?;
        rest = r;
        field(tag, data)?;
    }
    Ok((rest, ()))
}

/// A known tagged field's value must take all of the field's bytes (for the generated
/// decoders).
pub(crate) fn tagged_value_ends(
    left: &[u8],
    tag: u32,
    structure: &'static str,
    version: i16,
    field: &'static str,
) -> Result<(), nom::Err<DecodeError>> {
    if left.is_empty() {
        return Ok(());
    }
    Err(nom::Err::Error(
        DecodeError::new(DecodeErrorKind::TaggedFieldSize { tag }).at(structure, version, field),
    ))
}

/// Reads one tagged field: its tag and its bytes (for the generated decoders).
pub(crate) fn tagged_field<'a>(
    input: &'a [u8],
    structure: &'static str,
    version: i16,
) -> crate::primitives::PResult<'a, (u32, &'a [u8])> {
    let at = |e: nom::Err<DecodeError>| e.map(|e| e.at(structure, version, "tagged fields"));
    let (rest, tag) = crate::primitives::get_uvarint(input).map_err(at)?;
    let (rest, size) = crate::primitives::get_uvarint(rest).map_err(at)?;
    let (rest, data) = crate::primitives::take(rest, size as usize).map_err(at)?;
    Ok((rest, (tag, data)))
}

#[allow(unused_imports)]
pub(crate) use {
    api_message, field_default, first, is_untagged, nullable_in, when_tagged, when_untagged,
    wire_struct,
};
