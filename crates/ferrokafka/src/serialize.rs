//! Serializers: how keys and values become bytes (Java's `Serializer<T>`).
//!
//! ```
//! use ferrokafka::serialize::{IntegerSerializer, Serializer, StringSerializer};
//! assert_eq!(StringSerializer.serialize("t", "héllo").unwrap().as_ref(), "héllo".as_bytes());
//! // Java's IntegerSerializer: 4 bytes, big-endian.
//! assert_eq!(IntegerSerializer.serialize("t", &-2).unwrap().as_ref(), &[0xff, 0xff, 0xff, 0xfe]);
//! ```

use bytes::Bytes;

/// Turns a `T` into the bytes of a key or value. `topic` is passed as in Java, for
/// serializers that depend on it.
pub trait Serializer<T: ?Sized>: Send + Sync {
    /// Serializes `data` for `topic`.
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError>;
}

/// A serializer's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SerializeError(pub String);

/// Bytes as they are (Java `ByteArraySerializer` / `BytesSerializer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesSerializer;

impl Serializer<[u8]> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &[u8]) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

impl Serializer<Bytes> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &Bytes) -> Result<Bytes, SerializeError> {
        Ok(data.clone())
    }
}

impl Serializer<Vec<u8>> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &Vec<u8>) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

/// UTF-8 strings (Java `StringSerializer` with its default encoding).
#[derive(Debug, Clone, Copy, Default)]
pub struct StringSerializer;

impl Serializer<str> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &str) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

impl Serializer<String> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &String) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

/// Big-endian two's complement integers, as Java's `ShortSerializer` (i16),
/// `IntegerSerializer` (i32) and `LongSerializer` (i64).
#[derive(Debug, Clone, Copy, Default)]
pub struct IntegerSerializer;

macro_rules! int_serializer {
    ($($t:ty),*) => {$(
        impl Serializer<$t> for IntegerSerializer {
            fn serialize(&self, _topic: &str, data: &$t) -> Result<Bytes, SerializeError> {
                Ok(Bytes::copy_from_slice(&data.to_be_bytes()))
            }
        }
    )*};
}
int_serializer!(i16, i32, i64, u16, u32, u64);

/// IEEE 754 big-endian floats, as Java's `FloatSerializer` and `DoubleSerializer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatSerializer;

impl Serializer<f32> for FloatSerializer {
    fn serialize(&self, _topic: &str, data: &f32) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&data.to_bits().to_be_bytes()))
    }
}

impl Serializer<f64> for FloatSerializer {
    fn serialize(&self, _topic: &str, data: &f64) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&data.to_bits().to_be_bytes()))
    }
}

/// JSON through serde (feature `json`).
#[cfg(feature = "json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerializer;

#[cfg(feature = "json")]
impl<T: serde::Serialize + ?Sized> Serializer<T> for JsonSerializer {
    fn serialize(&self, _topic: &str, data: &T) -> Result<Bytes, SerializeError> {
        serde_json::to_vec(data)
            .map(Bytes::from)
            .map_err(|e| SerializeError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_like_java() {
        assert_eq!(
            IntegerSerializer.serialize("t", &1i32).unwrap().as_ref(),
            &[0, 0, 0, 1]
        );
        assert_eq!(
            IntegerSerializer.serialize("t", &258i64).unwrap().as_ref(),
            &[0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(
            IntegerSerializer.serialize("t", &-1i16).unwrap().as_ref(),
            &[0xff, 0xff]
        );
    }

    #[test]
    fn floats_are_ieee_big_endian() {
        assert_eq!(
            FloatSerializer.serialize("t", &1.0f64).unwrap().as_ref(),
            &[0x3f, 0xf0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            FloatSerializer.serialize("t", &-2.0f32).unwrap().as_ref(),
            &[0xc0, 0, 0, 0]
        );
    }

    #[test]
    fn strings_and_bytes_pass_through() {
        assert_eq!(
            StringSerializer.serialize("t", "ab").unwrap().as_ref(),
            b"ab"
        );
        assert_eq!(
            BytesSerializer
                .serialize("t", &b"\x00\x01"[..])
                .unwrap()
                .as_ref(),
            b"\x00\x01"
        );
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_serializes_with_serde() {
        #[derive(serde::Serialize)]
        struct Order {
            id: u32,
            item: &'static str,
        }
        let out = JsonSerializer
            .serialize("t", &Order { id: 7, item: "tea" })
            .unwrap();
        assert_eq!(out.as_ref(), br#"{"id":7,"item":"tea"}"#);
    }
}
