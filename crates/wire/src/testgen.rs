//! proptest strategies that generate values valid at a given version (fields
//! absent at that version keep their defaults; `None` only where nullable).

use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::lazy::LazyArray;
use crate::types::{Ctx, TaggedFields, Uuid, Wire};

/// A type proptest can generate for a version.
pub(crate) trait Gen: Sized {
    fn strategy(ctx: Ctx, nullable: bool) -> BoxedStrategy<Self>;
}

macro_rules! gen_any {
    ($($t:ty),*) => {$(
        impl Gen for $t {
            fn strategy(_ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
                any::<$t>().boxed()
            }
        }
    )*};
}
gen_any!(i8, i16, i32, i64, u16, u32, bool);

impl Gen for f64 {
    fn strategy(_ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
        // NaN never equals itself; every other value round-trips bit for bit.
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan()).boxed()
    }
}

impl Gen for Uuid {
    fn strategy(_ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
        any::<[u8; 16]>().prop_map(Uuid).boxed()
    }
}

impl Gen for String {
    fn strategy(_ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
        "[a-zA-Z0-9._é-]{0,12}".boxed()
    }
}

impl Gen for Bytes {
    fn strategy(_ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(Bytes::from)
            .boxed()
    }
}

impl<T: Gen + std::fmt::Debug + 'static> Gen for Vec<T> {
    fn strategy(ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
        proptest::collection::vec(T::strategy(ctx, false), 0..3).boxed()
    }
}

/// Both forms: built from a `Vec`, and kept encoded (the `Vec` encoded and decoded at
/// `ctx`, as a decoded message holds it).
impl<T: Gen + Wire + std::fmt::Debug + Clone + 'static> Gen for LazyArray<T> {
    fn strategy(ctx: Ctx, _nullable: bool) -> BoxedStrategy<Self> {
        (Vec::<T>::strategy(ctx, false), any::<bool>())
            .prop_map(move |(v, keep_encoded)| {
                let built = LazyArray::from(v);
                if !keep_encoded {
                    return built;
                }
                let mut buf = Vec::new();
                built
                    .encode(&mut buf, ctx, false)
                    .expect("generated values encode");
                let (rest, lazy) =
                    LazyArray::decode(&buf, ctx, false).expect("encoded values decode");
                assert!(rest.is_empty());
                lazy
            })
            .boxed()
    }
}

impl<T: Gen + std::fmt::Debug + Clone + 'static> Gen for Option<T> {
    fn strategy(ctx: Ctx, nullable: bool) -> BoxedStrategy<Self> {
        if nullable {
            prop_oneof![1 => Just(None), 4 => T::strategy(ctx, false).prop_map(Some)].boxed()
        } else {
            T::strategy(ctx, false).prop_map(Some).boxed()
        }
    }
}

/// Unknown tagged fields with tags far above any known tag.
pub(crate) fn unknown_tags() -> BoxedStrategy<TaggedFields> {
    proptest::collection::btree_map(
        100u32..100_000,
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from),
        0..3,
    )
    .boxed()
}
