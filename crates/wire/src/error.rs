//! Typed encode and decode errors.
//!
//! A decode error says *what* went wrong ([`DecodeErrorKind`]) and *where*: the
//! innermost structure, protocol version and field being read, plus the outermost
//! message when the failure was inside a nested structure.

use std::fmt;

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the value was complete.
    Truncated,
    /// A length or count is negative (and not the null marker), or larger than the
    /// bytes left can hold.
    InvalidLength(i64),
    /// A null value where this version of the field does not allow one.
    UnexpectedNull,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// An unsigned varint is longer than 5 bytes or overflows 32 bits.
    VarintOverflow,
    /// A boolean byte other than 0 or 1.
    InvalidBool(u8),
    /// A tagged field's declared size does not match what its value used.
    TaggedFieldSize {
        /// The tag.
        tag: u32,
    },
    /// Bytes remain after the message was read completely.
    TrailingBytes(usize),
    /// The version is outside the range this message supports.
    UnsupportedVersion,
    /// The API key is not one this crate knows.
    UnknownApiKey(i16),
    /// A frame is larger than the configured maximum.
    FrameTooLarge {
        /// Size announced by the frame's length prefix.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A frame's length prefix is negative.
    NegativeFrameSize(i32),
    /// A nom combinator failed in a way not covered above.
    Malformed,
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ended early"),
            Self::InvalidLength(n) => write!(f, "invalid length or count {n}"),
            Self::UnexpectedNull => f.write_str("null where the field is not nullable"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::VarintOverflow => f.write_str("varint too long"),
            Self::InvalidBool(b) => write!(f, "invalid boolean byte {b:#04x}"),
            Self::TaggedFieldSize { tag } => write!(f, "tagged field {tag} has a wrong size"),
            Self::TrailingBytes(n) => write!(f, "{n} unread bytes after the message"),
            Self::UnsupportedVersion => f.write_str("unsupported version"),
            Self::UnknownApiKey(k) => write!(f, "unknown api key {k}"),
            Self::FrameTooLarge { size, max } => {
                write!(f, "frame of {size} bytes exceeds the maximum of {max}")
            }
            Self::NegativeFrameSize(n) => write!(f, "negative frame size {n}"),
            Self::Malformed => f.write_str("malformed input"),
        }
    }
}

/// Where a decode error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Structure being decoded (e.g. `MetadataResponsePartition`).
    pub structure: &'static str,
    /// Protocol version of the enclosing message.
    pub version: i16,
    /// Field being decoded.
    pub field: &'static str,
}

/// Where an error happened: the innermost structure, version and field, and the
/// outermost message when the failure was inside a nested structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Place {
    inner: Option<Location>,
    outer: Option<&'static str>,
}

impl Place {
    /// The first call records the innermost location; later ones the outer message.
    fn at(&mut self, structure: &'static str, version: i16, field: &'static str) {
        if self.inner.is_none() {
            self.inner = Some(Location {
                structure,
                version,
                field,
            });
        } else {
            self.outer = Some(structure);
        }
    }

    fn message(&self) -> Option<&'static str> {
        self.outer.or(self.inner.map(|l| l.structure))
    }

    fn fmt(&self, f: &mut fmt::Formatter<'_>, verb: &str, kind: &dyn fmt::Display) -> fmt::Result {
        match (self.inner, self.outer) {
            (Some(l), Some(outer)) => write!(
                f,
                "{verb} {outer} v{}: {}.{}: {kind}",
                l.version, l.structure, l.field
            ),
            (Some(l), None) => write!(
                f,
                "{verb} {} v{}: field {}: {kind}",
                l.structure, l.version, l.field
            ),
            _ => write!(f, "{verb}: {kind}"),
        }
    }
}

/// A decoding failure: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    place: Place,
}

impl DecodeError {
    /// An error of the given kind with no location yet.
    pub fn new(kind: DecodeErrorKind) -> Self {
        Self {
            kind,
            place: Place::default(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// Innermost structure, version and field, if known.
    pub fn location(&self) -> Option<Location> {
        self.place.inner
    }

    /// Outermost message name, if the error was inside a nested structure.
    pub fn message(&self) -> Option<&'static str> {
        self.place.message()
    }

    /// Records the structure, version and field being read; the innermost one is
    /// kept and later calls only update the outer message name.
    pub fn at(mut self, structure: &'static str, version: i16, field: &'static str) -> Self {
        self.place.at(structure, version, field);
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.place.fmt(f, "decoding", &self.kind)
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeErrorKind> for DecodeError {
    fn from(kind: DecodeErrorKind) -> Self {
        Self::new(kind)
    }
}

impl<I> nom::error::ParseError<I> for DecodeError {
    fn from_error_kind(_input: I, kind: nom::error::ErrorKind) -> Self {
        match kind {
            nom::error::ErrorKind::Eof | nom::error::ErrorKind::Complete => {
                Self::new(DecodeErrorKind::Truncated)
            }
            _ => Self::new(DecodeErrorKind::Malformed),
        }
    }

    fn append(_input: I, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// What went wrong while encoding: the values cannot be represented at this version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeErrorKind {
    /// A `None` in a field that is not nullable at this version.
    NullNotAllowed,
    /// A string, byte string or array longer than its length prefix can express.
    TooLong(usize),
    /// The message does not exist at this version.
    UnsupportedVersion,
    /// An unknown tagged field uses the tag of a field this version knows.
    DuplicateTag(u32),
}

impl fmt::Display for EncodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NullNotAllowed => f.write_str("null but not nullable at this version"),
            Self::TooLong(n) => write!(f, "too long for its length prefix ({n})"),
            Self::UnsupportedVersion => f.write_str("unsupported version"),
            Self::DuplicateTag(t) => {
                write!(f, "unknown tagged field {t} collides with a known tag")
            }
        }
    }
}

/// An encoding failure: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    kind: EncodeErrorKind,
    place: Place,
}

impl EncodeError {
    /// An error of the given kind with no location yet.
    pub fn new(kind: EncodeErrorKind) -> Self {
        Self {
            kind,
            place: Place::default(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &EncodeErrorKind {
        &self.kind
    }

    /// Innermost structure, version and field, if known.
    pub fn location(&self) -> Option<Location> {
        self.place.inner
    }

    /// Records where the error happened (innermost kept, outermost message updated).
    pub fn at(mut self, structure: &'static str, version: i16, field: &'static str) -> Self {
        self.place.at(structure, version, field);
        self
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.place.fmt(f, "encoding", &self.kind)
    }
}

impl std::error::Error for EncodeError {}

impl From<EncodeErrorKind> for EncodeError {
    fn from(kind: EncodeErrorKind) -> Self {
        Self::new(kind)
    }
}
