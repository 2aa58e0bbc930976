//! Arbitrary bytes as an outcome record: never a panic, only canonical bytes decode, and
//! `verify_many` agrees with `verify` on what does.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = nets_tournament::fuzzing::decode_outcome_record(data) {
        panic!("{e}");
    }
});
