//! Arbitrary bytes as a script of messages and events for one honest `MatchMachine` against a
//! peer that signs whatever it likes (see `nets_tournament::fuzzing::feed_machine`): never a
//! panic, never the honest player blamed, every fault, claim and record it emits checks out.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = nets_tournament::fuzzing::feed_machine(data) {
        panic!("{e}");
    }
});
