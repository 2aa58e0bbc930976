//! Arbitrary bytes as a match message: never a panic, only canonical bytes decode.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = nets_tournament::fuzzing::decode_match_message(data) {
        panic!("{e}");
    }
});
