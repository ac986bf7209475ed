//! Decoding hostile input must not reserve memory out of proportion to it: a
//! count is checked against the bytes left, and arrays reserve only a few
//! elements up front. Measured with a counting allocator (hence `unsafe`, which
//! the library itself forbids).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::{MetadataResponse, ProduceResponse};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn hostile_counts_reserve_little() {
    // A compact array count of 1,048,575 backed by 1 MiB of zeros: the count
    // passes the bytes-left check, but no element decodes (a null topic name).
    let mut body = vec![0x80, 0x80, 0x40];
    body.extend(std::iter::repeat_n(0u8, 1 << 20));
    let input_len = body.len();
    LARGEST.store(0, Ordering::Relaxed);
    assert!(ProduceResponse::decode_body(&body, 9).is_err());
    assert!(MetadataResponse::decode_body(&body[2..], 12).is_err());
    let largest = LARGEST.load(Ordering::Relaxed);
    // Reserving count × element size would be ~90 MiB here.
    assert!(
        largest < 64 * 1024,
        "largest allocation {largest} bytes for {input_len} input bytes"
    );
}
