//! Tests of the codecs: round trips, Kafka's framings, bounds on what a decompression may produce.

use super::*;

#[test]
fn names_round_trip_and_reject_unknown() {
    for c in CompressionType::ALL {
        assert_eq!(c.name().parse::<CompressionType>(), Ok(c));
        assert_eq!(CompressionType::from_id(c.id()), Some(c));
    }
    let err = "GZIP".parse::<CompressionType>().unwrap_err();
    assert!(err.to_string().contains("compression.type"), "{err}");
    assert_eq!(CompressionType::from_id(5), None);
}

#[test]
fn levels_are_validated_with_the_setting_name() {
    assert!(Compression::new(CompressionType::Gzip, Some(9)).is_ok());
    assert!(Compression::new(CompressionType::Gzip, Some(-1)).is_ok());
    let e = Compression::new(CompressionType::Gzip, Some(10)).unwrap_err();
    assert!(e.to_string().contains("compression.gzip.level"), "{e}");
    assert!(Compression::new(CompressionType::Lz4, Some(17)).is_ok());
    let e = Compression::new(CompressionType::Lz4, Some(0)).unwrap_err();
    assert!(e.to_string().contains("compression.lz4.level"), "{e}");
    assert!(Compression::new(CompressionType::Zstd, Some(-131_072)).is_ok());
    assert!(Compression::new(CompressionType::Zstd, Some(22)).is_ok());
    let e = Compression::new(CompressionType::Zstd, Some(23)).unwrap_err();
    assert!(e.to_string().contains("compression.zstd.level"), "{e}");
    assert_eq!(
        Compression::new(CompressionType::Snappy, Some(1)),
        Err(ConfigError::LevelNotSupported(CompressionType::Snappy))
    );
    assert_eq!(
        Compression::of(CompressionType::Lz4).effective_level(),
        Some(9)
    );
}

#[test]
fn snappy_writes_xerial_framing_in_32k_chunks() {
    let input: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut out = BytesMut::new();
    compress(Compression::of(CompressionType::Snappy), &input, &mut out).unwrap();
    assert_eq!(out[..16], SNAPPY_XERIAL_HEADER);
    // Walk the chunks: 100_000 bytes = 3 full 32 KiB chunks + one partial.
    let mut rest = &out[16..];
    let mut chunks = 0;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let block = &rest[4..4 + len];
        let n = snap::raw::decompress_len(block).unwrap();
        assert!(n <= SNAPPY_XERIAL_BLOCK);
        rest = &rest[4 + len..];
        chunks += 1;
    }
    assert_eq!(chunks, 4);
    assert_eq!(
        decompress(CompressionType::Snappy, &out, 100_000).unwrap(),
        input
    );
}

#[test]
fn snappy_reads_raw_blocks() {
    let input = b"hello hello hello hello raw snappy".repeat(10);
    let raw = snap::raw::Encoder::new().compress_vec(&input).unwrap();
    assert_eq!(
        decompress(CompressionType::Snappy, &raw, 1 << 20).unwrap(),
        input
    );
}

#[test]
fn lz4_frame_header_matches_java() {
    let mut out = BytesMut::new();
    compress(
        Compression::of(CompressionType::Lz4),
        b"abcabcabc",
        &mut out,
    )
    .unwrap();
    assert_eq!(out[..7], LZ4_FRAME_HEADER);
    // The header checksum is what lz4_flex's own frame encoder computes for FLG 0x60, BD 0x40.
    let info = lz4_flex::frame::FrameInfo::new()
        .block_size(lz4_flex::frame::BlockSize::Max64KB)
        .block_mode(lz4_flex::frame::BlockMode::Independent);
    let mut reference = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    reference.write_all(b"abcabcabc").unwrap();
    let reference = reference.finish().unwrap();
    assert_eq!(reference[..7], LZ4_FRAME_HEADER);
    // Blocks larger than 64 KiB input are split, incompressible ones are stored raw, and
    // lz4_flex's frame decoder reads all of it.
    let mut noise = Vec::new();
    let mut x = 0x1234_5678u32;
    for _ in 0..150_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x as u8);
    }
    let mut big = BytesMut::new();
    compress(Compression::of(CompressionType::Lz4), &noise, &mut big).unwrap();
    let first = u32::from_le_bytes(big[7..11].try_into().unwrap());
    assert_eq!(first, 0x8000_0000 | 65_536, "stored raw");
    let mut dec = Vec::new();
    lz4_flex::frame::FrameDecoder::new(&big[..])
        .read_to_end(&mut dec)
        .unwrap();
    assert_eq!(dec, noise);
}

#[test]
fn every_codec_rejects_output_over_the_limit() {
    let input = vec![7u8; 200_000];
    for c in CompressionType::ALL {
        let mut out = BytesMut::new();
        compress(Compression::of(c), &input, &mut out).unwrap();
        assert_eq!(decompress(c, &out, 200_000).unwrap(), input, "{c}");
        assert_eq!(
            decompress(c, &out, 199_999),
            Err(DecompressError::TooLarge {
                codec: c,
                limit: 199_999
            }),
            "{c}"
        );
    }
}

#[test]
fn zstd_streamed_and_multi_frame_inputs_decode() {
    let data = b"streamed like zstd-jni, without a pledged size ".repeat(50);
    // A streaming frame has no content size: the streaming path decodes it.
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(&data).unwrap();
    let streamed = enc.finish().unwrap();
    assert!(matches!(
        zstd::zstd_safe::get_frame_content_size(&streamed),
        Ok(None)
    ));
    assert_eq!(
        decompress(CompressionType::Zstd, &streamed, 1 << 20).unwrap(),
        data
    );
    // Two frames back to back, the first with a content size: the fast path declines.
    let mut two = zstd::bulk::compress(&data, 3).unwrap();
    two.extend_from_slice(&streamed);
    let out = decompress(CompressionType::Zstd, &two, 1 << 20).unwrap();
    assert_eq!(out.len(), data.len() * 2);
}

#[test]
fn corrupt_data_is_an_error() {
    for c in [
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ] {
        let mut out = BytesMut::new();
        compress(Compression::of(c), &b"some data ".repeat(100), &mut out).unwrap();
        let truncated = &out[..out.len() / 2];
        assert!(
            matches!(
                decompress(c, truncated, 1 << 20),
                Err(DecompressError::Corrupt { .. })
            ),
            "{c}"
        );
    }
}
