//! Compression of a batch's records section, as the Java client writes it.
//!
//! | `compression.type` | id | what we write | what we read |
//! |---|---|---|---|
//! | `none` | 0 | records as they are | same |
//! | `gzip` | 1 | one RFC 1952 gzip member (flate2) | one or more gzip members |
//! | `snappy` | 2 | xerial snappy-java framing: 16-byte header (magic `82 53 4E 41 50 50 59 00`, version 1, min-compatible version 1) then chunks of `int32 BE length` + raw snappy block, each block compressing at most 32 KiB of input | xerial-framed **or** raw snappy (as snappy-java and librdkafka do) |
//! | `lz4` | 3 | standard LZ4 frame, FLG `0x60` (version 01, independent blocks, no checksums), BD `0x40` (64 KiB blocks) | any standard LZ4 frame |
//! | `zstd` | 4 | one zstd frame with its content size | zstd frames |
//!
//! zstd batches are only accepted by brokers on Produce v7 or later (KIP-110); older versions get
//! `UNSUPPORTED_COMPRESSION_TYPE`. Choosing the Produce version is the wire crate's business.
//!
//! ## Levels (`compression.gzip.level`, `compression.lz4.level`, `compression.zstd.level`, KIP-390)
//!
//! * **gzip**: 1 (fastest) to 9 (smallest), or -1 for the default, which is zlib's level 6.
//!   Passed to flate2 as the deflate level.
//! * **lz4**: 1 to 17 (Java default 9) are accepted so that Java configurations validate, but the
//!   pure-Rust lz4_flex implements only LZ4's fast compressor: **every level produces the same
//!   output**. (Java maps levels above 2 to LZ4 HC; the frames are interchangeable for readers.)
//! * **zstd**: whatever the linked libzstd allows, i.e. -131072 (fastest, negative "fast"
//!   levels) to 22 (smallest, slowest); 0 and the default mean level 3.
//! * `none` and `snappy` have no level.
//!
//! Decompression always takes a `limit`: output larger than it is an error
//! ([`DecompressError::TooLarge`]), found without ever allocating more than the limit (plus one
//! codec block), so a small compressed batch cannot expand into a huge buffer.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use crate::error::{ConfigError, DecompressError, EncodeError};

/// The codec of a batch's records section (attributes bits 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CompressionType {
    /// No compression (id 0).
    #[default]
    None,
    /// gzip (id 1).
    Gzip,
    /// snappy (id 2).
    Snappy,
    /// lz4 (id 3).
    Lz4,
    /// zstd (id 4).
    Zstd,
}

impl CompressionType {
    /// Every codec, in id order.
    pub const ALL: [CompressionType; 5] = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];

    /// The attributes id (0–4).
    pub const fn id(self) -> u8 {
        match self {
            CompressionType::None => 0,
            CompressionType::Gzip => 1,
            CompressionType::Snappy => 2,
            CompressionType::Lz4 => 3,
            CompressionType::Zstd => 4,
        }
    }

    /// The codec with attributes id `id`, if there is one.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(CompressionType::None),
            1 => Some(CompressionType::Gzip),
            2 => Some(CompressionType::Snappy),
            3 => Some(CompressionType::Lz4),
            4 => Some(CompressionType::Zstd),
            _ => None,
        }
    }

    /// The Java `compression.type` name.
    pub const fn name(self) -> &'static str {
        match self {
            CompressionType::None => "none",
            CompressionType::Gzip => "gzip",
            CompressionType::Snappy => "snappy",
            CompressionType::Lz4 => "lz4",
            CompressionType::Zstd => "zstd",
        }
    }

    /// The Java setting that holds this codec's level, if it has one.
    pub const fn level_setting(self) -> Option<&'static str> {
        match self {
            CompressionType::Gzip => Some("compression.gzip.level"),
            CompressionType::Lz4 => Some("compression.lz4.level"),
            CompressionType::Zstd => Some("compression.zstd.level"),
            CompressionType::None | CompressionType::Snappy => None,
        }
    }
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CompressionType {
    type Err = ConfigError;

    /// Parses the Java names exactly (`none`, `gzip`, `snappy`, `lz4`, `zstd`), like the Java
    /// client's config validation, which is case-sensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CompressionType::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| ConfigError::UnknownCompressionType(s.to_owned()))
    }
}

/// A codec plus its optional level (`None` = the codec's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Compression {
    /// The codec.
    pub kind: CompressionType,
    /// The level; `None` means the Java default for the codec.
    pub level: Option<i32>,
}

/// Java's default gzip level (`Deflater.DEFAULT_COMPRESSION`), i.e. zlib level 6.
pub const GZIP_DEFAULT_LEVEL: i32 = -1;
/// Java's default lz4 level.
pub const LZ4_DEFAULT_LEVEL: i32 = 9;
/// Java's (and zstd's) default zstd level.
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// LZ4 frame header as the Java client writes it: magic `0x184D2204` (LE), FLG `0x60` (version
/// 01, independent blocks, no block or content checksum, no content size), BD `0x40` (64 KiB
/// maximum block size), and HC `0x82` = `(xxHash32(FLG, BD; seed 0) >> 8) & 0xFF` (the correct
/// header checksum; only magic 0 used the broken one, KAFKA-3160).
pub const LZ4_FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82];
const LZ4_BLOCK: usize = 64 * 1024;
const LZ4_UNCOMPRESSED_BIT: u32 = 0x8000_0000;

/// Size of one xerial snappy chunk's uncompressed input (snappy-java's default block size).
pub const SNAPPY_XERIAL_BLOCK: usize = 32 * 1024;
/// The 16-byte xerial snappy-java stream header: magic, version 1, minimum compatible version 1.
pub const SNAPPY_XERIAL_HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];

impl Compression {
    /// No compression.
    pub const NONE: Compression = Compression {
        kind: CompressionType::None,
        level: None,
    };

    /// A codec at its default level.
    pub const fn of(kind: CompressionType) -> Self {
        Compression { kind, level: None }
    }

    /// A codec with a level, validated against the Java ranges; errors name the setting.
    pub fn new(kind: CompressionType, level: Option<i32>) -> Result<Self, ConfigError> {
        if let Some(level) = level {
            let ok = match kind {
                CompressionType::None | CompressionType::Snappy => {
                    return Err(ConfigError::LevelNotSupported(kind));
                }
                CompressionType::Gzip => level == -1 || (1..=9).contains(&level),
                CompressionType::Lz4 => (1..=17).contains(&level),
                CompressionType::Zstd => zstd::compression_level_range().contains(&level),
            };
            if !ok {
                let allowed = match kind {
                    CompressionType::Gzip => "1..=9 or -1 for the default",
                    CompressionType::Lz4 => "1..=17",
                    _ => "-131072..=22 (as supported by libzstd)",
                };
                return Err(ConfigError::InvalidLevel {
                    setting: kind.level_setting().unwrap_or("compression.type"),
                    level,
                    allowed,
                });
            }
        }
        Ok(Compression { kind, level })
    }

    /// The level that will be used: the configured one or the Java default.
    pub fn effective_level(&self) -> Option<i32> {
        match self.kind {
            CompressionType::None | CompressionType::Snappy => None,
            CompressionType::Gzip => Some(self.level.unwrap_or(GZIP_DEFAULT_LEVEL)),
            CompressionType::Lz4 => Some(self.level.unwrap_or(LZ4_DEFAULT_LEVEL)),
            CompressionType::Zstd => Some(self.level.unwrap_or(ZSTD_DEFAULT_LEVEL)),
        }
    }
}

fn enc_err(codec: CompressionType, e: impl fmt::Display) -> EncodeError {
    EncodeError::Compression {
        codec,
        detail: e.to_string(),
    }
}

/// Compresses `input` with `compression`, appending the result to `out`.
pub fn compress(
    compression: Compression,
    input: &[u8],
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let codec = compression.kind;
    match codec {
        CompressionType::None => out.extend_from_slice(input),
        CompressionType::Gzip => {
            let level = match compression.effective_level() {
                Some(l) if l >= 0 => flate2::Compression::new(l as u32),
                _ => flate2::Compression::default(),
            };
            out.reserve(input.len() / 2 + 64);
            let mut enc = flate2::write::GzEncoder::new(out.writer(), level);
            enc.write_all(input).map_err(|e| enc_err(codec, e))?;
            enc.finish().map_err(|e| enc_err(codec, e))?;
        }
        CompressionType::Snappy => {
            out.extend_from_slice(&SNAPPY_XERIAL_HEADER);
            let mut encoder = snap::raw::Encoder::new();
            for chunk in input.chunks(SNAPPY_XERIAL_BLOCK) {
                let start = out.len();
                let bound = snap::raw::max_compress_len(chunk.len());
                out.resize(start + 4 + bound, 0);
                let n = encoder
                    .compress(chunk, &mut out[start + 4..])
                    .map_err(|e| enc_err(codec, e))?;
                out[start..start + 4].copy_from_slice(&(n as u32).to_be_bytes());
                out.truncate(start + 4 + n);
            }
        }
        CompressionType::Lz4 => {
            // The frame is written by hand around lz4_flex's block compressor: the frame encoder
            // allocates (and page-faults in) 64 KiB+ buffers per batch, which cost more than
            // compressing a 16 KiB batch. Blocks are independent, as the frame header says.
            out.extend_from_slice(&LZ4_FRAME_HEADER);
            for chunk in input.chunks(LZ4_BLOCK) {
                let start = out.len();
                let bound = lz4_flex::block::get_maximum_output_size(chunk.len());
                out.resize(start + 4 + bound, 0);
                let n = lz4_flex::block::compress_into(chunk, &mut out[start + 4..])
                    .map_err(|e| enc_err(codec, e))?;
                if n >= chunk.len() {
                    // Incompressible: store the block raw (size high bit set).
                    out.truncate(start);
                    let size = chunk.len() as u32 | LZ4_UNCOMPRESSED_BIT;
                    out.extend_from_slice(&size.to_le_bytes());
                    out.extend_from_slice(chunk);
                } else {
                    out[start..start + 4].copy_from_slice(&(n as u32).to_le_bytes());
                    out.truncate(start + 4 + n);
                }
            }
            out.extend_from_slice(&[0; 4]); // EndMark
        }
        CompressionType::Zstd => {
            let level = compression.effective_level().unwrap_or(ZSTD_DEFAULT_LEVEL);
            let compressed = zstd_compress(input, level).map_err(|e| enc_err(codec, e))?;
            out.extend_from_slice(&compressed);
        }
    }
    Ok(())
}

thread_local! {
    /// One zstd compression context per thread, reused across batches: creating a context costs
    /// more than compressing a 16 KiB batch. Holds the level it was configured with.
    static ZSTD_CONTEXT: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd-compresses `input` at `level` into one frame that records its content size.
fn zstd_compress(input: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    ZSTD_CONTEXT.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return zstd::bulk::compress(input, level);
        };
        match slot.as_mut() {
            Some((l, c)) if *l == level => c.compress(input),
            _ => {
                let mut c = zstd::bulk::Compressor::new(level)?;
                let out = c.compress(input);
                *slot = Some((level, c));
                out
            }
        }
    })
}

fn corrupt(codec: CompressionType, e: impl fmt::Display) -> DecompressError {
    DecompressError::Corrupt {
        codec,
        detail: e.to_string(),
    }
}

/// Reads all of `reader` into a vector, failing once more than `limit` bytes come out.
fn read_bounded(
    codec: CompressionType,
    reader: impl Read,
    limit: usize,
    size_hint: usize,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::with_capacity(size_hint.min(limit));
    let cap = (limit as u64).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > limit {
        return Err(DecompressError::TooLarge { codec, limit });
    }
    Ok(out)
}

/// The smallest window log that covers `limit`, clamped to `[23, 27]`.
///
/// A zstd frame can ask the decoder for a window of up to 2^31 bytes whatever its content; we cap
/// the window so that a hostile frame cannot make the decoder allocate more than
/// `max(limit, 8 MiB)` (and never more than zstd's own default cap, 128 MiB). The 8 MiB floor
/// exists because the Java client streams zstd without a pledged content size, so its frames
/// declare the level's default window (2 MiB at the default level 3, 8 MiB at level 19) even for
/// a small batch.
fn zstd_window_log(limit: usize) -> u32 {
    let needed = usize::BITS - limit.saturating_sub(1).leading_zeros();
    needed.clamp(23, 27)
}

thread_local! {
    /// One zstd decompression context per thread (creating one costs more than decoding a
    /// 16 KiB batch), with the window cap it was configured for.
    static ZSTD_DCONTEXT: std::cell::RefCell<Option<(u32, zstd::bulk::Decompressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The fast path for a frame that declares its content size (what we write): allocate exactly
/// that (after checking it against `limit`) and decode in one call with a reused context.
/// `None` means "use the streaming path", which also produces the precise error.
fn zstd_decompress_fast(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(input).ok()??;
    if size > limit as u64 {
        return None;
    }
    let window_log = zstd_window_log(limit);
    ZSTD_DCONTEXT.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.as_ref().is_none_or(|(w, _)| *w != window_log) {
            let mut d = zstd::bulk::Decompressor::new().ok()?;
            d.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(window_log))
                .ok()?;
            *slot = Some((window_log, d));
        }
        let (_, d) = slot.as_mut()?;
        let mut out = Vec::with_capacity(size as usize);
        let n = d.decompress_to_buffer(input, &mut out).ok()?;
        // A second frame after the first would not fit and fails above; a shorter output than
        // declared is corruption: let the streaming path report both.
        (n == size as usize).then_some(out)
    })
}

/// Decompresses `input` (a batch's records section written with `codec`), producing at most
/// `limit` bytes.
pub fn decompress(
    codec: CompressionType,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    let hint = input.len().saturating_mul(4);
    match codec {
        CompressionType::None => {
            if input.len() > limit {
                return Err(DecompressError::TooLarge { codec, limit });
            }
            Ok(input.to_vec())
        }
        CompressionType::Gzip => {
            read_bounded(codec, flate2::read::MultiGzDecoder::new(input), limit, hint)
        }
        CompressionType::Snappy => snappy_decompress(input, limit),
        CompressionType::Lz4 => read_bounded(
            codec,
            lz4_flex::frame::FrameDecoder::new(input),
            limit,
            hint,
        ),
        CompressionType::Zstd => {
            if let Some(out) = zstd_decompress_fast(input, limit) {
                return Ok(out);
            }
            // Frames without a content size (the Java client streams zstd), several frames, too
            // large, or corrupt: the streaming decoder handles each and reports precisely.
            let mut dec =
                zstd::stream::read::Decoder::with_buffer(input).map_err(|e| corrupt(codec, e))?;
            dec.window_log_max(zstd_window_log(limit))
                .map_err(|e| corrupt(codec, e))?;
            read_bounded(codec, dec, limit, hint)
        }
    }
}

/// Snappy: xerial-framed if the input starts with the xerial magic (like snappy-java's
/// `SnappyInputStream`), else one raw snappy block.
fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    const CODEC: CompressionType = CompressionType::Snappy;
    let mut decoder = snap::raw::Decoder::new();
    if input.len() >= SNAPPY_XERIAL_HEADER.len() && input[..8] == SNAPPY_XERIAL_HEADER[..8] {
        // The version fields (bytes 8..16) are informational; snappy-java only rejects a
        // minimum-compatible version newer than its own, which no writer has ever used.
        let mut rest = &input[SNAPPY_XERIAL_HEADER.len()..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let Some((len_bytes, tail)) = rest.split_first_chunk::<4>() else {
                return Err(corrupt(CODEC, "truncated xerial chunk length"));
            };
            let len = u32::from_be_bytes(*len_bytes) as usize;
            if len > tail.len() {
                return Err(corrupt(CODEC, "xerial chunk longer than the input"));
            }
            let (block, after) = tail.split_at(len);
            let n = snap::raw::decompress_len(block).map_err(|e| corrupt(CODEC, e))?;
            let start = out.len();
            if n > limit - start {
                return Err(DecompressError::TooLarge {
                    codec: CODEC,
                    limit,
                });
            }
            out.resize(start + n, 0);
            let written = decoder
                .decompress(block, &mut out[start..])
                .map_err(|e| corrupt(CODEC, e))?;
            out.truncate(start + written);
            rest = after;
        }
        Ok(out)
    } else {
        let n = snap::raw::decompress_len(input).map_err(|e| corrupt(CODEC, e))?;
        if n > limit {
            return Err(DecompressError::TooLarge {
                codec: CODEC,
                limit,
            });
        }
        let mut out = vec![0; n];
        let written = decoder
            .decompress(input, &mut out)
            .map_err(|e| corrupt(CODEC, e))?;
        out.truncate(written);
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
