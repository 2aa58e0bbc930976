// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title NetsSettlement
/// @notice Settles the nets market. Matches are played, verified and rated off chain; this
/// contract only holds money and agrees on roots:
///  - stakers bond ether (withdrawable after an unbonding delay) and vote with it;
///  - each account binds the ed25519 key its node plays under (checked off chain);
///  - deposits fund the market's entries and so the rewards;
///  - staked accounts sign EIP-712 attestations of an epoch's (outcomes root, rewards root,
///    total payout); anyone submits them aggregated; an epoch finalises once its attesting
///    stake reached the quorum and the challenge window has passed;
///  - players claim their cumulative balance by Merkle proof against the latest finalised
///    rewards root and are paid the difference to what their key already claimed;
///  - anyone who shows two conflicting attestations by one account for one epoch has that
///    account's stake slashed and receives a share of it;
///  - anyone who shows that the latest finalised rewards table convicts a key of match fraud
///    has the stake of the key's account slashed: a share to the reporter, the rest burned
///    (the quorum that attested the conviction must not be able to profit from it).
/// Solvency: a rewards table whose total exceeds the funds is refused, and claims never pay
/// out more than the finalised total, so stakes are never used to pay rewards.
contract NetsSettlement {
    // ------------------------------------------------------------------ types

    /// What staked accounts attest for an epoch (the EIP-712 struct).
    struct Attestation {
        uint64 epoch;
        bytes32 outcomesRoot;
        bytes32 rewardsRoot;
        uint128 totalPayout;
    }

    /// A secp256k1 signature in the compact EIP-2098 form: `vs` is `s` with the parity of the
    /// recovery id in its top bit. 64 bytes of calldata instead of 96.
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// One staker. `active` and `unbonding` share a slot, which attestation reads once.
    struct Account {
        /// Bonded stake: votes in attestations and counts toward the total.
        uint128 active;
        /// Stake on its way out: no vote, but still slashable until withdrawn.
        uint128 unbonding;
        /// When `unbonding` may be withdrawn.
        uint64 unbondingUntil;
        /// Convicted (of equivocation, or of match fraud): stake taken, may never stake again.
        bool slashed;
    }

    /// The attestation that first reached an epoch's quorum, and when (the challenge window
    /// starts then). One storage slot, so that anchoring an epoch writes one slot: the
    /// digest is kept to its first 24 bytes. Finalising another attestation under the same
    /// record would take a second preimage of those 192 bits.
    struct Quorum {
        bytes24 digest;
        uint64 reachedAt;
    }

    /// One ed25519 key: the account it is bound to and the cumulative amount it claimed.
    struct KeyRecord {
        address account;
        uint96 claimed;
    }

    // ------------------------------------------------------------------ errors

    error InvalidParameters();
    error ZeroAmount();
    error AmountTooLarge();
    error AccountSlashed(address account);
    error InsufficientStake(uint128 active, uint128 requested);
    error NothingToWithdraw();
    error StillUnbonding(uint64 until);
    error ZeroKey();
    error AccountAlreadyBound(bytes32 key);
    error KeyAlreadyBound(address account);
    error KeyNotBound(address account);
    error EpochClosed(uint64 epoch, uint64 nextEpoch);
    error NoSignatures();
    error InvalidSignature();
    error SignersNotSorted();
    error NotStaked(address signer);
    error InsufficientFunds(uint128 totalPayout, uint128 funds);
    error QuorumNotReached(uint64 epoch);
    error ChallengeWindowOpen(uint64 until);
    error PayoutBelowClaimed(uint128 totalPayout, uint128 totalClaimed);
    error NothingFinalised();
    error InvalidProof();
    error NothingToClaim(uint128 balance, uint128 claimed);
    error ExceedsTotalPayout(uint128 totalClaimed, uint128 amount, uint128 totalPayout);
    error NotConflicting();
    error SignersDiffer();
    error NothingToSlash(address account);
    error UnknownKey(bytes32 key);
    error TransferFailed(address to, uint256 amount);
    error Reentrancy();

    // ------------------------------------------------------------------ events

    event Staked(address indexed account, uint128 amount, uint128 active);
    event UnstakeRequested(address indexed account, uint128 amount, uint64 until);
    event Withdrawn(address indexed account, uint128 amount);
    event KeyBound(address indexed account, bytes32 indexed key, bytes32[2] keySignature);
    event Deposited(address indexed from, bytes32 indexed key, uint128 amount);
    event Attested(uint64 indexed epoch, bytes32 indexed digest, uint128 stake, uint256 signers);
    event QuorumReached(uint64 indexed epoch, bytes32 indexed digest, uint128 stake, uint128 totalStake);
    event QuorumRevoked(uint64 indexed epoch, bytes24 digest);
    event EpochFinalised(
        uint64 indexed epoch, bytes32 indexed digest, bytes32 outcomesRoot, bytes32 rewardsRoot, uint128 totalPayout
    );
    event Claimed(address indexed account, bytes32 indexed key, uint128 amount, uint128 balance);
    event Slashed(address indexed account, uint64 indexed epoch, address indexed reporter, uint128 amount, uint128 reward);

    // ------------------------------------------------------------------ constants and parameters

    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(uint64 epoch,bytes32 outcomesRoot,bytes32 rewardsRoot,uint128 totalPayout)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("NetsSettlement");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// Half the order of secp256k1: larger `s` values are the malleable twins and are refused.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    uint256 private constant BPS = 10_000;
    /// Where burned stake goes: an address nobody holds a key to.
    address private constant BURN = 0x000000000000000000000000000000000000dEaD;

    /// Seconds between an epoch's quorum and its finalisation, for evidence to arrive.
    uint64 public immutable challengeWindow;
    /// Seconds between a request to unstake and the withdrawal; longer than the challenge
    /// window so that the stake behind every quorum stays slashable until finalisation.
    uint64 public immutable unbondingDelay;
    /// Share of the total active stake an aggregate must bring, in basis points (> 5000).
    uint16 public immutable quorumBps;
    /// Share of a slashed stake paid to the reporter, in basis points; the rest funds rewards.
    uint16 public immutable reporterBps;

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedDomainSeparator;

    // ------------------------------------------------------------------ state

    mapping(address => Account) public accounts;
    /// The ed25519 key each account bound.
    mapping(address => bytes32) public keyOf;
    mapping(bytes32 => KeyRecord) public keys;
    /// Per epoch, the attestation that reached the quorum (zero if none).
    mapping(uint64 => Quorum) public quorums;

    /// Sum of active stakes: the denominator of the quorum.
    uint128 public totalStake;
    /// Deposits plus slashed stake not paid to reporters: what rewards may ever pay out.
    uint128 public rewardFunds;
    /// Total of the latest finalised rewards table (cumulative over epochs).
    uint128 public totalPayout;
    /// Everything claimed so far.
    uint128 public totalClaimed;
    /// Sum of unbonding stakes.
    uint128 public totalUnbonding;
    /// Stake of convicted players burned (sent to `BURN`), in all.
    uint128 public burned;
    /// The lowest epoch that can still be attested or finalised.
    uint64 public nextEpoch;
    /// The latest finalised roots (zero before the first finalisation).
    bytes32 public rewardsRoot;
    bytes32 public outcomesRoot;

    bool private transient locked;

    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    constructor(uint64 challengeWindow_, uint64 unbondingDelay_, uint16 quorumBps_, uint16 reporterBps_) {
        if (unbondingDelay_ <= challengeWindow_ || quorumBps_ <= BPS / 2 || quorumBps_ > BPS || reporterBps_ > BPS) {
            revert InvalidParameters();
        }
        challengeWindow = challengeWindow_;
        unbondingDelay = unbondingDelay_;
        quorumBps = quorumBps_;
        reporterBps = reporterBps_;
        cachedChainId = block.chainid;
        cachedDomainSeparator = _domainSeparator();
    }

    // ------------------------------------------------------------------ staking

    /// Bonds `msg.value` more stake.
    function stake() external payable nonReentrant {
        Account storage a = accounts[msg.sender];
        if (a.slashed) revert AccountSlashed(msg.sender);
        uint128 amount = _toUint128(msg.value);
        if (amount == 0) revert ZeroAmount();
        a.active += amount;
        totalStake += amount;
        emit Staked(msg.sender, amount, a.active);
    }

    /// Moves `amount` of active stake to unbonding; it may be withdrawn after the unbonding
    /// delay (counted from the latest request).
    function unstake(uint128 amount) external nonReentrant {
        Account storage a = accounts[msg.sender];
        if (amount == 0) revert ZeroAmount();
        if (amount > a.active) revert InsufficientStake(a.active, amount);
        uint64 until = uint64(block.timestamp) + unbondingDelay;
        a.active -= amount;
        a.unbonding += amount;
        a.unbondingUntil = until;
        totalStake -= amount;
        totalUnbonding += amount;
        emit UnstakeRequested(msg.sender, amount, until);
    }

    /// Pays out the unbonded stake once the delay has passed.
    function withdraw() external nonReentrant {
        Account storage a = accounts[msg.sender];
        uint128 amount = a.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < a.unbondingUntil) revert StillUnbonding(a.unbondingUntil);
        a.unbonding = 0;
        totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ keys and deposits

    /// Binds the caller to the ed25519 `key` its node plays under, once. The contract cannot
    /// check ed25519 signatures: it records `keySignature` (the key's signature over the
    /// binding, see docs/settlement.md) in the event and the network checks it off chain,
    /// paying no rewards to a key whose binding it does not accept.
    function bindKey(bytes32 key, bytes32[2] calldata keySignature) external nonReentrant {
        if (key == bytes32(0)) revert ZeroKey();
        if (keyOf[msg.sender] != bytes32(0)) revert AccountAlreadyBound(keyOf[msg.sender]);
        if (keys[key].account != address(0)) revert KeyAlreadyBound(keys[key].account);
        keyOf[msg.sender] = key;
        keys[key].account = msg.sender;
        emit KeyBound(msg.sender, key, keySignature);
    }

    /// Deposits `msg.value` to fund the entries of the player `key`. The money joins the
    /// reward funds; the network credits the key's entries off chain.
    function deposit(bytes32 key) external payable nonReentrant {
        uint128 amount = _toUint128(msg.value);
        if (amount == 0) revert ZeroAmount();
        rewardFunds += amount;
        emit Deposited(msg.sender, key, amount);
    }

    // ------------------------------------------------------------------ epochs

    /// Counts an aggregate of attestations of `att`, one signature per staked account, sorted
    /// by signer address (strictly ascending, so no stake counts twice). Only an aggregate
    /// whose own stake reaches the quorum of the current total stake is recorded: the first
    /// one fixes the epoch's attestation and starts its challenge window. Smaller aggregates
    /// leave only their event.
    function attest(Attestation calldata att, Signature[] calldata signatures) external nonReentrant {
        if (att.epoch < nextEpoch) revert EpochClosed(att.epoch, nextEpoch);
        if (signatures.length == 0) revert NoSignatures();
        uint128 funds = rewardFunds;
        if (att.totalPayout > funds) revert InsufficientFunds(att.totalPayout, funds);
        bytes32 digest = attestationDigest(att);
        uint256 weight;
        address previous;
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = _recover(digest, signatures[i]);
            if (signer <= previous) revert SignersNotSorted();
            previous = signer;
            uint128 active = accounts[signer].active;
            if (active == 0) revert NotStaked(signer);
            weight += active;
        }
        // Bounded by the total stake, so it fits.
        uint128 stakeSum = uint128(weight);
        emit Attested(att.epoch, digest, stakeSum, signatures.length);
        uint128 total = totalStake;
        Quorum storage q = quorums[att.epoch];
        if (q.digest == bytes24(0) && weight * BPS >= uint256(total) * quorumBps) {
            q.digest = bytes24(digest);
            q.reachedAt = uint64(block.timestamp);
            emit QuorumReached(att.epoch, digest, stakeSum, total);
        }
    }

    /// Finalises `att`'s epoch: its digest must hold the epoch's quorum and the challenge
    /// window must have passed. The roots become the ones claims are paid against; epochs
    /// before it can no longer finalise (reward tables are cumulative, so nothing is lost).
    function finalise(Attestation calldata att) external nonReentrant {
        if (att.epoch < nextEpoch) revert EpochClosed(att.epoch, nextEpoch);
        bytes32 digest = attestationDigest(att);
        Quorum memory q = quorums[att.epoch];
        if (q.digest != bytes24(digest)) revert QuorumNotReached(att.epoch);
        uint64 until = q.reachedAt + challengeWindow;
        if (block.timestamp < until) revert ChallengeWindowOpen(until);
        if (att.totalPayout > rewardFunds) revert InsufficientFunds(att.totalPayout, rewardFunds);
        if (att.totalPayout < totalClaimed) revert PayoutBelowClaimed(att.totalPayout, totalClaimed);
        nextEpoch = att.epoch + 1;
        rewardsRoot = att.rewardsRoot;
        outcomesRoot = att.outcomesRoot;
        totalPayout = att.totalPayout;
        emit EpochFinalised(att.epoch, digest, att.outcomesRoot, att.rewardsRoot, att.totalPayout);
    }

    // ------------------------------------------------------------------ claims

    /// Pays the caller's key its cumulative `balance` in the latest finalised rewards table,
    /// less what the key already claimed. The leaf is
    /// `keccak256(0x00 ++ key ++ uint128 balance)`; see `_verify` for the tree.
    function claim(uint128 balance, bytes32[] calldata proof) external nonReentrant {
        bytes32 key = keyOf[msg.sender];
        if (key == bytes32(0)) revert KeyNotBound(msg.sender);
        bytes32 root = rewardsRoot;
        if (root == bytes32(0)) revert NothingFinalised();
        bytes32 leaf = keccak256(abi.encodePacked(bytes1(0x00), key, balance));
        if (!_verify(root, leaf, proof)) revert InvalidProof();
        KeyRecord storage k = keys[key];
        uint128 already = k.claimed;
        if (balance <= already) revert NothingToClaim(balance, already);
        uint128 amount = balance - already;
        uint128 paid = totalClaimed;
        if (uint256(paid) + amount > totalPayout) revert ExceedsTotalPayout(paid, amount, totalPayout);
        // Within the total payout, hence within the funds; uint96 holds any real amount.
        if (balance > type(uint96).max) revert AmountTooLarge();
        k.claimed = uint96(balance);
        totalClaimed = paid + amount;
        emit Claimed(msg.sender, key, amount, balance);
        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ slashing

    /// Slashes the account that signed both `a` and `b`, two different attestations for one
    /// epoch. Its whole stake (active and unbonding) is taken: `reporterBps` of it to the
    /// caller, the rest to the reward funds; the account may never stake again. If the epoch
    /// is not finalised, its quorum is revoked: it must be reached again without the
    /// equivocator, and a new challenge window starts.
    function slash(Attestation calldata a, Signature calldata sa, Attestation calldata b, Signature calldata sb)
        external
        nonReentrant
    {
        if (a.epoch != b.epoch) revert NotConflicting();
        bytes32 da = attestationDigest(a);
        bytes32 db = attestationDigest(b);
        if (da == db) revert NotConflicting();
        address signer = _recover(da, sa);
        if (_recover(db, sb) != signer) revert SignersDiffer();
        (uint128 amount, uint128 reward) = _take(signer, a.epoch);
        rewardFunds += amount - reward;
        bytes24 revoked = quorums[a.epoch].digest;
        if (a.epoch >= nextEpoch && revoked != bytes24(0)) {
            delete quorums[a.epoch];
            emit QuorumRevoked(a.epoch, revoked);
        }
        if (reward > 0) _send(msg.sender, reward);
    }

    /// Slashes the account bound to `key`, which the latest finalised rewards table lists as
    /// convicted of fraud in a match: the leaf `keccak256(0x00 ++ key)` (a key alone, where a
    /// balance leaf carries 16 more bytes). The contract cannot check that evidence itself
    /// (ed25519 signatures, a replay of the game); the quorum of stake that attested the table
    /// vouched for it, and every node can check it. The whole stake is taken, `reporterBps` of
    /// it to the caller, and the account may never stake again; the rest is burned rather than
    /// added to the reward funds, so that a quorum listing an honest staker gains nothing by it.
    /// The event's epoch is the finalised table's, which may be later than the offence
    /// (convictions stay in every later table).
    function slashConvicted(bytes32 key, bytes32[] calldata proof) external nonReentrant {
        bytes32 root = rewardsRoot;
        if (root == bytes32(0)) revert NothingFinalised();
        if (!_verify(root, keccak256(abi.encodePacked(bytes1(0x00), key)), proof)) revert InvalidProof();
        address account = keys[key].account;
        if (account == address(0)) revert UnknownKey(key);
        (uint128 amount, uint128 reward) = _take(account, nextEpoch - 1);
        burned += amount - reward;
        _send(BURN, amount - reward);
        if (reward > 0) _send(msg.sender, reward);
    }

    // ------------------------------------------------------------------ views

    /// The EIP-712 domain separator: name "NetsSettlement", version "1", this chain, this
    /// contract.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedDomainSeparator : _domainSeparator();
    }

    /// The EIP-712 digest a staker signs for `att`.
    function attestationDigest(Attestation calldata att) public view returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(ATTESTATION_TYPEHASH, att.epoch, att.outcomesRoot, att.rewardsRoot, att.totalPayout));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// Whether `proof` shows `leaf` under `root` (see `_verify`).
    function verifyProof(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external pure returns (bool) {
        return _verify(root, leaf, proof);
    }

    // ------------------------------------------------------------------ internals

    function _domainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// The tournament core's Merkle scheme: node = keccak256(0x01 ++ min(a, b) ++ max(a, b)),
    /// siblings from the leaf up, nothing verifies against the empty root.
    function _verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof) private pure returns (bool) {
        if (root == bytes32(0)) return false;
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 sibling = proof[i];
            node = node < sibling
                ? keccak256(abi.encodePacked(bytes1(0x01), node, sibling))
                : keccak256(abi.encodePacked(bytes1(0x01), sibling, node));
        }
        return node == root;
    }

    function _recover(bytes32 digest, Signature calldata sig) private pure returns (address signer) {
        uint256 s = uint256(sig.vs) & (type(uint256).max >> 1);
        if (s > HALF_ORDER) revert InvalidSignature();
        uint8 v = uint8(uint256(sig.vs) >> 255) + 27;
        signer = ecrecover(digest, v, sig.r, bytes32(s));
        if (signer == address(0)) revert InvalidSignature();
    }

    /// Takes `account`'s whole stake (active and unbonding), for an offence shown by the
    /// attestations or the table of `epoch`: returns it and the caller's `reporterBps` share of
    /// it (the callers send it last, and place the rest); the account may never stake again.
    function _take(address account, uint64 epoch) private returns (uint128 amount, uint128 reward) {
        Account storage acc = accounts[account];
        uint128 active = acc.active;
        uint128 unbonding = acc.unbonding;
        amount = active + unbonding;
        if (amount == 0) revert NothingToSlash(account);
        acc.active = 0;
        acc.unbonding = 0;
        acc.slashed = true;
        totalStake -= active;
        totalUnbonding -= unbonding;
        reward = uint128((uint256(amount) * reporterBps) / BPS);
        emit Slashed(account, epoch, msg.sender, amount, reward);
    }

    function _toUint128(uint256 value) private pure returns (uint128) {
        if (value > type(uint128).max) revert AmountTooLarge();
        return uint128(value);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
