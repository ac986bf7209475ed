#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrokafka_fuzz::wire::response_list_offsets(data));
