//! The nets libp2p behaviour: Kademlia discovery, gossip of outcomes, the match stream
//! protocol and one-shot fetches. It carries `nets-tournament` messages and holds no match
//! logic. Not written yet; only its place in the workspace exists.
