#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrokafka_fuzz::fake::request_body(data));
