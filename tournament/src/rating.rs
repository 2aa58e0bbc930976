//! Glicko-2 ratings, after Glickman, "Example of the Glicko-2 system" (2013).
//!
//! One epoch is one rating period. [`rate_period`] takes the ratings before the period and the
//! period's games and returns the ratings after it. As the paper prescribes, every player's
//! update uses the *pre-period* ratings of all its opponents, so the games of a period form an
//! unordered set: the result does not depend on the order of the games, nor on which side of a
//! game is called `a`. Players without games in the period only see their deviation grow
//! (`φ' = √(φ² + σ²)`, capped at [`Glicko2Params::max_deviation`]); players new in the period
//! start from the initial rating; games of a player against itself are ignored.
//!
//! # Determinism
//!
//! Ratings are floating point, and every node must arrive at the same ratings from the same
//! games. Three measures make that hold bit for bit:
//!
//! 1. **Order.** Each player's games are sorted canonically (by opponent id, then score) before
//!    any floating-point term is summed, so permutations of the input (and swapping `a` with
//!    `b` while flipping the score) give identical `f64` bits. Floating-point addition is not
//!    associative; without this the last bits would depend on the order the games arrived in.
//! 2. **Operations.** Only IEEE-754 basic operations (`+ - * /`, `sqrt`, comparisons), which
//!    are correctly rounded and therefore identical everywhere, are used from the platform.
//!    `exp` and `ln` are *not* taken from the platform: `f64::exp`/`f64::ln` call the system
//!    libm, whose results are not required to be correctly rounded and do differ in the last
//!    bit between libm implementations (glibc, musl, Apple, MSVC). This module carries its own
//!    ports of the fdlibm/musl `exp` and `log` (error below 1 ulp), written with basic
//!    operations and bit manipulation only. The volatility is found with the Illinois
//!    iteration exactly as in step 5 of the paper, with a bounded number of iterations. Rust
//!    does not contract `a * b + c` into fused multiply-adds, and on the tier-1 targets
//!    (x86-64 with SSE2, AArch64) `f64` arithmetic is plain IEEE binary64.
//! 3. **Hashing.** Whatever gets hashed or signed uses the integer [`CanonicalRating`]
//!    (rating and deviation in thousandths, volatility in billionths; see
//!    [`canonical_bytes`]), never the `f64` bits or a float's text form. Consensus code should
//!    also carry [`quantize`]d ratings from one period to the next, so that each period starts
//!    from state that is identical by construction.
//!
//! **Caveat.** Measure 2 is what makes results identical across machines; it rests on IEEE-754
//! binary64 semantics, which Rust provides on all mainstream targets but not on targets that
//! evaluate in x87 extended precision (32-bit x86 without SSE2). Measure 3 is a second line of
//! defence: should some platform still differ in a last bit, the rounded integers differ only
//! if the value lies within that bit of a rounding boundary: improbable, though not impossible.
//!
//! For display use [`PlayerRating::display_rating`], the rating rounded to an integer, and
//! [`leaderboard`], which orders players deterministically.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::identity::PlayerId;

/// The factor between the Glicko scale and the Glicko-2 scale (the paper's 173.7178, that is
/// 400 / ln 10 rounded as in the paper).
pub const GLICKO2_SCALE: f64 = 173.7178;

/// A bound on every iteration (the search for the bracket and the Illinois iteration), so that
/// nonsensical parameters cannot loop forever. With sane parameters the Illinois iteration
/// converges in well under twenty steps.
const MAX_ITERATIONS: u32 = 1000;

/// The parameters of the rating system.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Glicko2Params {
    /// The rating of a new player (Glicko scale). Default 1500.
    pub initial_rating: f64,
    /// The rating deviation (RD) of a new player (Glicko scale). Default 350.
    pub initial_deviation: f64,
    /// The volatility σ of a new player. Default 0.06.
    pub initial_volatility: f64,
    /// The system constant τ, which bounds how fast volatility changes (smaller: slower;
    /// Glickman suggests 0.3 to 1.2). Default 0.5.
    pub tau: f64,
    /// The convergence tolerance ε of the Illinois iteration for the volatility.
    /// Default 0.000001.
    pub epsilon: f64,
    /// The greatest rating deviation (Glicko scale). A player's deviation grows by
    /// `φ' = √(φ² + σ²)` per period without games, and never beyond this. Default 350.
    pub max_deviation: f64,
}

impl Default for Glicko2Params {
    fn default() -> Self {
        Self {
            initial_rating: 1500.0,
            initial_deviation: 350.0,
            initial_volatility: 0.06,
            tau: 0.5,
            epsilon: 0.000_001,
            max_deviation: 350.0,
        }
    }
}

impl Glicko2Params {
    /// The rating of a player never seen before.
    pub fn new_player(&self) -> PlayerRating {
        PlayerRating {
            rating: self.initial_rating,
            deviation: self.initial_deviation,
            volatility: self.initial_volatility,
            games: 0,
            wins: 0,
            draws: 0,
            losses: 0,
        }
    }
}

/// A player's rating and record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayerRating {
    /// The rating r (Glicko scale, 1500 for a new player).
    pub rating: f64,
    /// The rating deviation RD (Glicko scale).
    pub deviation: f64,
    /// The volatility σ.
    pub volatility: f64,
    /// Games rated (all periods).
    pub games: u64,
    /// Games won.
    pub wins: u64,
    /// Games drawn.
    pub draws: u64,
    /// Games lost.
    pub losses: u64,
}

impl PlayerRating {
    /// The rating rounded to the nearest integer (halves away from zero), for display.
    pub fn display_rating(&self) -> i64 {
        round_to_i64(self.rating)
    }

    /// The integer form, for hashing and signing.
    pub fn canonical(&self) -> CanonicalRating {
        CanonicalRating {
            rating_milli: round_to_i64(self.rating * 1000.0),
            deviation_milli: round_to_i64(self.deviation * 1000.0),
            volatility_nano: round_to_i64(self.volatility * 1_000_000_000.0),
            games: self.games,
            wins: self.wins,
            draws: self.draws,
            losses: self.losses,
        }
    }

    /// This rating rounded to the precision of its canonical form.
    pub fn quantized(&self) -> PlayerRating {
        self.canonical().to_rating()
    }

    /// The lower end of the 95% interval, `rating - 2 * deviation`: a conservative rating.
    pub fn conservative(&self) -> f64 {
        self.rating - 2.0 * self.deviation
    }
}

/// Rounds half away from zero; saturates out of range; NaN gives 0.
fn round_to_i64(x: f64) -> i64 {
    // `f64::round` is exact (no rounding error), so it is deterministic whatever implements
    // it; `as` saturates and maps NaN to 0.
    x.round() as i64
}

/// The integer form of a [`PlayerRating`]: what gets hashed. Rating and deviation are in
/// thousandths of a point, volatility in billionths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CanonicalRating {
    /// `round(rating * 1000)`.
    pub rating_milli: i64,
    /// `round(deviation * 1000)`.
    pub deviation_milli: i64,
    /// `round(volatility * 10^9)`.
    pub volatility_nano: i64,
    /// Games rated.
    pub games: u64,
    /// Games won.
    pub wins: u64,
    /// Games drawn.
    pub draws: u64,
    /// Games lost.
    pub losses: u64,
}

impl CanonicalRating {
    /// The length of [`CanonicalRating::to_bytes`].
    pub const LEN: usize = 56;

    /// Seven big-endian 8-byte integers in field order.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        let fields = [
            self.rating_milli.to_be_bytes(),
            self.deviation_milli.to_be_bytes(),
            self.volatility_nano.to_be_bytes(),
            self.games.to_be_bytes(),
            self.wins.to_be_bytes(),
            self.draws.to_be_bytes(),
            self.losses.to_be_bytes(),
        ];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields.iter()) {
            chunk.copy_from_slice(field);
        }
        out
    }

    /// Back to floating point (exact division of the integers, so deterministic).
    pub fn to_rating(&self) -> PlayerRating {
        PlayerRating {
            rating: self.rating_milli as f64 / 1000.0,
            deviation: self.deviation_milli as f64 / 1000.0,
            volatility: self.volatility_nano as f64 / 1_000_000_000.0,
            games: self.games,
            wins: self.wins,
            draws: self.draws,
            losses: self.losses,
        }
    }
}

/// All ratings, ordered by player id (so iteration order is deterministic).
pub type Ratings = BTreeMap<PlayerId, PlayerRating>;

/// The canonical bytes of a rating table: the number of players as a big-endian `u64`, then for
/// each player in id order its 32 id bytes and its [`CanonicalRating::to_bytes`].
pub fn canonical_bytes(ratings: &Ratings) -> Vec<u8> {
    let mut out = Vec::with_capacity(8_usize.saturating_add(ratings.len().saturating_mul(32 + 56)));
    out.extend_from_slice(&(ratings.len() as u64).to_be_bytes());
    for (id, rating) in ratings {
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&rating.canonical().to_bytes());
    }
    out
}

/// Every rating rounded to the precision of its canonical form (see the module docs).
pub fn quantize(ratings: &Ratings) -> Ratings {
    ratings.iter().map(|(id, r)| (*id, r.quantized())).collect()
}

/// The outcome of a game for one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Score {
    /// Won: scores 1.
    Win,
    /// Drawn: scores 1/2.
    Draw,
    /// Lost: scores 0.
    Loss,
}

impl Score {
    /// The score s of the paper: 1, 0.5 or 0.
    pub fn value(self) -> f64 {
        match self {
            Score::Win => 1.0,
            Score::Draw => 0.5,
            Score::Loss => 0.0,
        }
    }

    /// The same outcome seen from the other side.
    pub fn flip(self) -> Score {
        match self {
            Score::Win => Score::Loss,
            Score::Draw => Score::Draw,
            Score::Loss => Score::Win,
        }
    }
}

/// A rated game: `a` against `b`, with `score_a` from `a`'s point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GameResult {
    /// One player.
    pub a: PlayerId,
    /// The other player.
    pub b: PlayerId,
    /// The outcome for `a`.
    pub score_a: Score,
}

/// The ratings after one rating period (one epoch) with `games`, from the ratings before it.
///
/// The result is independent of the order of `games` and of the orientation of each game, bit
/// for bit (see the module docs). Every player of `before` appears in the result; so does every
/// player with a game. Self-games are ignored (and a player seen only in self-games is not
/// added).
pub fn rate_period(before: &Ratings, games: &[GameResult], params: &Glicko2Params) -> Ratings {
    // One entry per player and game, from that player's point of view, in canonical order.
    let mut entries: Vec<(PlayerId, PlayerId, Score)> =
        Vec::with_capacity(games.len().saturating_mul(2));
    for game in games.iter().filter(|g| g.a != g.b) {
        entries.push((game.a, game.b, game.score_a));
        entries.push((game.b, game.a, game.score_a.flip()));
    }
    // The order is total on the values, so an unstable sort gives one result.
    entries.sort_unstable();

    let new_player = params.new_player();
    let mut out: Vec<(PlayerId, PlayerRating)> =
        Vec::with_capacity(before.len().saturating_add(entries.len()));
    let mut previous = before.iter().peekable();
    for group in entries.chunk_by(|x, y| x.0 == y.0) {
        let Some(&(player, _, _)) = group.first() else {
            continue;
        };
        while let Some((id, rating)) = previous.next_if(|(id, _)| **id < player) {
            out.push((*id, inactive(rating, params)));
        }
        let own = previous
            .next_if(|(id, _)| **id == player)
            .map_or(new_player, |(_, r)| *r);
        let opponents = group.iter().map(|&(_, opponent, score)| {
            let o = before.get(&opponent).unwrap_or(&new_player);
            (o.rating, o.deviation, score)
        });
        out.push((player, active(&own, opponents, params)));
    }
    for (id, rating) in previous {
        out.push((*id, inactive(rating, params)));
    }
    // `out` is sorted by id, which makes this a linear bulk build.
    out.into_iter().collect()
}

/// Players sorted best first: by rating descending, then deviation ascending (the surer of two
/// equal ratings first), then id ascending.
pub fn leaderboard(ratings: &Ratings) -> Vec<(PlayerId, PlayerRating)> {
    let mut board: Vec<(PlayerId, PlayerRating)> =
        ratings.iter().map(|(id, r)| (*id, *r)).collect();
    board.sort_by(|(ia, ra), (ib, rb)| {
        rb.rating
            .total_cmp(&ra.rating)
            .then_with(|| ra.deviation.total_cmp(&rb.deviation))
            .then_with(|| ia.cmp(ib))
    });
    board
}

/// The glicko-2 scale values (μ, φ) of a rating and deviation.
fn to_glicko2(rating: f64, deviation: f64, params: &Glicko2Params) -> (f64, f64) {
    (
        (rating - params.initial_rating) / GLICKO2_SCALE,
        deviation / GLICKO2_SCALE,
    )
}

/// A period without games: the deviation grows towards the maximum.
fn inactive(rating: &PlayerRating, params: &Glicko2Params) -> PlayerRating {
    let phi = rating.deviation / GLICKO2_SCALE;
    let phi = grown_deviation(phi, rating.volatility, params);
    PlayerRating {
        deviation: phi * GLICKO2_SCALE,
        ..*rating
    }
}

/// `√(φ² + σ²)`, capped at the maximum deviation.
fn grown_deviation(phi: f64, sigma: f64, params: &Glicko2Params) -> f64 {
    let grown = (phi * phi + sigma * sigma).sqrt();
    let max = params.max_deviation / GLICKO2_SCALE;
    // Not `f64::min`, whose treatment of NaN we do not want to depend on here.
    if grown > max { max } else { grown }
}

/// A period with games: `opponents` yields (rating, deviation, score) in canonical order.
fn active(
    own: &PlayerRating,
    opponents: impl Iterator<Item = (f64, f64, Score)>,
    params: &Glicko2Params,
) -> PlayerRating {
    let (mut games, mut wins, mut draws, mut losses) = (own.games, own.wins, own.draws, own.losses);
    let (mu, phi) = to_glicko2(own.rating, own.deviation, params);
    let mut glicko2_opponents = Vec::new();
    for (rating, deviation, score) in opponents {
        games = games.saturating_add(1);
        match score {
            Score::Win => wins = wins.saturating_add(1),
            Score::Draw => draws = draws.saturating_add(1),
            Score::Loss => losses = losses.saturating_add(1),
        }
        let (mu_j, phi_j) = to_glicko2(rating, deviation, params);
        glicko2_opponents.push((mu_j, phi_j, score.value()));
    }
    let record = PlayerRating {
        games,
        wins,
        draws,
        losses,
        ..*own
    };
    match update(mu, phi, own.volatility, &glicko2_opponents, params) {
        Some(u) => PlayerRating {
            rating: u.mu * GLICKO2_SCALE + params.initial_rating,
            deviation: u.phi * GLICKO2_SCALE,
            volatility: u.sigma,
            ..record
        },
        // The games carry no information (or the parameters are nonsense): only the
        // deviation grows, as for a period without games.
        None => inactive(&record, params),
    }
}

/// The result of steps 3 to 7 of the paper, on the Glicko-2 scale.
#[derive(Clone, Copy, Debug)]
struct Update {
    mu: f64,
    phi: f64,
    sigma: f64,
    #[cfg_attr(not(test), allow(dead_code))]
    v: f64,
    #[cfg_attr(not(test), allow(dead_code))]
    delta: f64,
}

/// `g(φ) = 1 / √(1 + 3φ²/π²)`.
fn g(phi: f64) -> f64 {
    let pi = std::f64::consts::PI;
    1.0 / (1.0 + 3.0 * phi * phi / (pi * pi)).sqrt()
}

/// Steps 3 to 7 of the paper for one player (μ, φ, σ) against `opponents` (μⱼ, φⱼ, sⱼ), which
/// are summed in the order given. `None` when the result would not be finite.
fn update(
    mu: f64,
    phi: f64,
    sigma: f64,
    opponents: &[(f64, f64, f64)],
    params: &Glicko2Params,
) -> Option<Update> {
    // Step 3 and the sum of step 4.
    let mut information = 0.0; // Σ g(φⱼ)² E (1 − E)
    let mut improvement = 0.0; // Σ g(φⱼ) (sⱼ − E)
    for &(mu_j, phi_j, s) in opponents {
        let g_j = g(phi_j);
        let e = 1.0 / (1.0 + portable::exp(-g_j * (mu - mu_j)));
        information += g_j * g_j * e * (1.0 - e);
        improvement += g_j * (s - e);
    }
    if !(information > 0.0 && information.is_finite()) {
        return None;
    }
    let v = 1.0 / information;
    let delta = v * improvement;
    // Step 5.
    let sigma_new = volatility(phi, sigma, v, delta, params);
    // Step 6 (with the cap on the deviation).
    let phi_star = grown_deviation(phi, sigma_new, params);
    // Step 7.
    let phi_new = 1.0 / (1.0 / (phi_star * phi_star) + 1.0 / v).sqrt();
    let mu_new = mu + phi_new * phi_new * improvement;
    let update = Update {
        mu: mu_new,
        phi: phi_new,
        sigma: sigma_new,
        v,
        delta,
    };
    (mu_new.is_finite() && phi_new.is_finite() && sigma_new.is_finite()).then_some(update)
}

/// Step 5 of the paper: the new volatility σ' by the Illinois iteration.
fn volatility(phi: f64, sigma: f64, v: f64, delta: f64, params: &Glicko2Params) -> f64 {
    let tau = params.tau;
    let phi2 = phi * phi;
    let delta2 = delta * delta;
    // Step 5.1.
    let a = portable::ln(sigma * sigma);
    let f = |x: f64| {
        let ex = portable::exp(x);
        let denominator = phi2 + v + ex;
        ex * (delta2 - phi2 - v - ex) / (2.0 * denominator * denominator) - (x - a) / (tau * tau)
    };
    // Step 5.2.
    let mut big_a = a;
    let mut big_b = if delta2 > phi2 + v {
        portable::ln(delta2 - phi2 - v)
    } else {
        let mut k = 1.0;
        for _ in 0..MAX_ITERATIONS {
            if f(a - k * tau) >= 0.0 {
                break;
            }
            k += 1.0;
        }
        a - k * tau
    };
    // Step 5.3.
    let mut f_a = f(big_a);
    let mut f_b = f(big_b);
    // Step 5.4.
    for _ in 0..MAX_ITERATIONS {
        // While |B − A| > ε; also stop on NaN and where the secant would divide by zero.
        let gap = (big_b - big_a).abs();
        if gap.is_nan() || gap <= params.epsilon || f_b == f_a {
            break;
        }
        let c = big_a + (big_a - big_b) * f_a / (f_b - f_a);
        let f_c = f(c);
        // f(C)·f(B) ≤ 0, compared by sign so that a tiny product cannot underflow. (With `< 0`
        // an exact root f(C) = 0 would stall the iteration.)
        if (f_c <= 0.0 && f_b >= 0.0) || (f_c >= 0.0 && f_b <= 0.0) {
            big_a = big_b;
            f_a = f_b;
        } else {
            f_a /= 2.0;
        }
        big_b = c;
        f_b = f_c;
    }
    // Step 5.5.
    portable::exp(big_a / 2.0)
}

/// `exp` and `ln` from IEEE basic operations only, identical on every IEEE-754 platform.
///
/// Ports of the fdlibm algorithms as found in musl (`src/math/exp.c`, `src/math/log.c` before
/// musl 1.1.20, and `scalbn.c`); both are accurate to within 1 ulp.
mod portable {
    // The constants of fdlibm, given by their bits (exactly as in its sources).
    /// ln 2, high part (its low 32 bits are zero, so `k * LN2_HI` is exact).
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    /// ln 2 − `LN2_HI`.
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    /// 1 / ln 2.
    const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
    /// exp's polynomial.
    const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
    const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
    const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
    const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
    const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);
    /// log's polynomial.
    const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
    const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
    const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
    const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
    const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
    const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
    const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
    /// Above this exp overflows (709.782712893383973096).
    const EXP_OVERFLOW: f64 = f64::from_bits(0x4086_2e42_fefa_39ef);
    /// Below this exp underflows to zero (−745.13321910194110842).
    const EXP_UNDERFLOW: f64 = f64::from_bits(0xc087_4910_d52d_3051);

    /// 2^1023, 2^-1022 · 2^53 and 2^54.
    const TWO_P1023: f64 = f64::from_bits(0x7fe0_0000_0000_0000);
    const TWO_M969: f64 = f64::from_bits(0x0360_0000_0000_0000);
    const TWO_P54: f64 = f64::from_bits(0x4350_0000_0000_0000);

    /// The high 32 bits of `x`.
    fn high_word(x: f64) -> u32 {
        (x.to_bits() >> 32) as u32
    }

    /// e^x.
    pub(super) fn exp(x: f64) -> f64 {
        let hx = high_word(x);
        let negative = hx >> 31 != 0;
        let hx = hx & 0x7fff_ffff;
        if hx >= 0x4086_232b {
            // |x| >= 708.39 or NaN.
            if x.is_nan() {
                return x;
            }
            if x > EXP_OVERFLOW {
                return f64::INFINITY;
            }
            if x < EXP_UNDERFLOW {
                return 0.0;
            }
        }
        // Argument reduction: x = k ln2 + r with |r| <= ln2 / 2.
        let (k, hi, lo, r);
        if hx > 0x3fd6_2e42 {
            // |x| > ln2 / 2.
            k = if hx >= 0x3ff0_a2b2 {
                // |x| >= 1.5 ln2; truncation towards zero as in C.
                (INV_LN2 * x + if negative { -0.5 } else { 0.5 }) as i32
            } else if negative {
                -1
            } else {
                1
            };
            let kf = f64::from(k);
            hi = x - kf * LN2_HI; // exact
            lo = kf * LN2_LO;
            r = hi - lo;
        } else if hx > 0x3e30_0000 {
            // 2^-28 < |x| <= ln2 / 2.
            k = 0;
            hi = x;
            lo = 0.0;
            r = x;
        } else {
            return 1.0 + x;
        }
        let rr = r * r;
        let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
        let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
        if k == 0 { y } else { scalbn(y, k) }
    }

    /// x · 2^n, correctly rounded.
    fn scalbn(x: f64, n: i32) -> f64 {
        let mut y = x;
        let mut n = n;
        if n > 1023 {
            y *= TWO_P1023;
            n = n.saturating_sub(1023);
            if n > 1023 {
                y *= TWO_P1023;
                n = n.saturating_sub(1023);
                if n > 1023 {
                    n = 1023;
                }
            }
        } else if n < -1022 {
            // Make sure the final n < -53 to avoid double rounding in the subnormal range.
            y *= TWO_M969;
            n = n.saturating_add(1022 - 53);
            if n < -1022 {
                y *= TWO_M969;
                n = n.saturating_add(1022 - 53);
                if n < -1022 {
                    n = -1022;
                }
            }
        }
        // Now -1022 <= n <= 1023, so the biased exponent is in 1..=2046.
        let biased = u64::from(n.saturating_add(0x3ff).unsigned_abs());
        y * f64::from_bits(biased << 52)
    }

    /// The natural logarithm.
    pub(super) fn ln(x: f64) -> f64 {
        let mut x = x;
        let mut bits = x.to_bits();
        let mut hx = high_word(x);
        let mut k: i32 = 0;
        if hx < 0x0010_0000 || hx >> 31 != 0 {
            if bits << 1 == 0 {
                return f64::NEG_INFINITY; // ln(±0)
            }
            if hx >> 31 != 0 {
                return f64::NAN; // ln of a negative number
            }
            // Subnormal: scale up.
            k = -54;
            x *= TWO_P54;
            bits = x.to_bits();
            hx = high_word(x);
        } else if hx >= 0x7ff0_0000 {
            return x; // +inf or NaN
        } else if hx == 0x3ff0_0000 && bits << 32 == 0 {
            return 0.0;
        }
        // Reduce x into [√2/2, √2].
        hx = hx.wrapping_add(0x3ff0_0000 - 0x3fe6_a09e);
        k = k.wrapping_add((hx >> 20) as i32).wrapping_sub(0x3ff);
        hx = (hx & 0x000f_ffff).wrapping_add(0x3fe6_a09e);
        bits = (u64::from(hx) << 32) | (bits & 0xffff_ffff);
        let x = f64::from_bits(bits);

        let f = x - 1.0;
        let hfsq = 0.5 * f * f;
        let s = f / (2.0 + f);
        let z = s * s;
        let w = z * z;
        let t1 = w * (LG2 + w * (LG4 + w * LG6));
        let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
        let r = t2 + t1;
        let dk = f64::from(k);
        s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(n: u8) -> PlayerId {
        PlayerId([n; 32])
    }

    fn rating(r: f64, rd: f64, sigma: f64) -> PlayerRating {
        PlayerRating {
            rating: r,
            deviation: rd,
            volatility: sigma,
            ..Glicko2Params::default().new_player()
        }
    }

    fn game(a: u8, b: u8, score_a: Score) -> GameResult {
        GameResult {
            a: id(a),
            b: id(b),
            score_a,
        }
    }

    /// The bits of every float and every counter, for bit-for-bit comparison.
    fn bits(ratings: &Ratings) -> Vec<(PlayerId, [u64; 7])> {
        ratings
            .iter()
            .map(|(id, r)| {
                (
                    *id,
                    [
                        r.rating.to_bits(),
                        r.deviation.to_bits(),
                        r.volatility.to_bits(),
                        r.games,
                        r.wins,
                        r.draws,
                        r.losses,
                    ],
                )
            })
            .collect()
    }

    /// Glickman's worked example: 1500/200/0.06 beats 1400/30, loses to 1550/100 and to
    /// 1700/300. The paper, rounding its intermediate values, gives r' = 1464.06,
    /// RD' = 151.52 and σ' = 0.05999; computed without intermediate rounding the rating is
    /// 1464.0507 (the difference is the paper's μ' = −0.2069 rounded to four places).
    #[test]
    fn glickman_worked_example() {
        let params = Glicko2Params::default();
        let before: Ratings = [
            (id(0), rating(1500.0, 200.0, 0.06)),
            (id(1), rating(1400.0, 30.0, 0.06)),
            (id(2), rating(1550.0, 100.0, 0.06)),
            (id(3), rating(1700.0, 300.0, 0.06)),
        ]
        .into_iter()
        .collect();
        let games = [
            game(0, 1, Score::Win),
            game(2, 0, Score::Win),
            game(0, 3, Score::Loss),
        ];
        let after = rate_period(&before, &games, &params);
        let p = after[&id(0)];
        assert!((p.rating - 1464.06).abs() < 0.01, "{}", p.rating);
        assert!((p.rating - 1464.0507).abs() < 0.0001, "{}", p.rating);
        assert!((p.deviation - 151.52).abs() < 0.005, "{}", p.deviation);
        assert!((p.volatility - 0.05999).abs() < 0.00001, "{}", p.volatility);
        assert!(
            (p.volatility - 0.059_996).abs() < 0.000_001,
            "{}",
            p.volatility
        );
        assert_eq!((p.games, p.wins, p.draws, p.losses), (3, 1, 0, 2));
        assert_eq!(p.display_rating(), 1464);

        // The intermediate quantities of the paper.
        let (mu, phi) = to_glicko2(1500.0, 200.0, &params);
        assert_eq!(mu, 0.0);
        assert!((phi - 1.1513).abs() < 0.0001);
        let opponents: Vec<(f64, f64, f64)> = [(1400.0, 30.0, 1.0), (1550.0, 100.0, 0.0)]
            .into_iter()
            .chain([(1700.0, 300.0, 0.0)])
            .map(|(r, rd, s)| {
                let (m, p) = to_glicko2(r, rd, &params);
                (m, p, s)
            })
            .collect();
        let u = update(mu, phi, 0.06, &opponents, &params).unwrap();
        // The paper's v = 1.7785 and Δ = −0.4834 come from rounded g and E; unrounded they are
        // 1.77898 and −0.48393.
        assert!((u.v - 1.7785).abs() < 0.001, "{}", u.v);
        assert!((u.v - 1.77898).abs() < 0.00001, "{}", u.v);
        assert!((u.delta - -0.4834).abs() < 0.001, "{}", u.delta);
        assert!((u.delta - -0.48393).abs() < 0.00001, "{}", u.delta);
        assert!((u.mu - -0.2069).abs() < 0.0001, "{}", u.mu);
        assert!((u.phi - 0.8722).abs() < 0.0001, "{}", u.phi);
        // The paper's A = ln σ'² = −5.62682; unrounded −5.62696.
        let big_a = portable::ln(u.sigma * u.sigma);
        assert!((big_a - -5.62682).abs() < 0.0002, "{big_a}");
        assert!((big_a - -5.62696).abs() < 0.00001, "{big_a}");
    }

    #[test]
    fn winners_gain_losers_lose_and_records_are_counted() {
        let params = Glicko2Params::default();
        let games = [
            game(1, 2, Score::Win),
            game(3, 1, Score::Loss),
            game(2, 3, Score::Draw),
            game(4, 4, Score::Win), // a self-game: ignored
        ];
        let after = rate_period(&Ratings::new(), &games, &params);
        assert_eq!(after.len(), 3, "the self-game adds no player");
        let (p1, p2, p3) = (after[&id(1)], after[&id(2)], after[&id(3)]);
        assert!(p1.rating > 1500.0);
        assert!(p2.rating < 1500.0 && p3.rating < 1500.0);
        assert!(p1.deviation < 350.0 && p2.deviation < 350.0);
        assert_eq!((p1.games, p1.wins, p1.draws, p1.losses), (2, 2, 0, 0));
        assert_eq!((p2.games, p2.wins, p2.draws, p2.losses), (2, 0, 1, 1));
        assert_eq!((p3.games, p3.wins, p3.draws, p3.losses), (2, 0, 1, 1));
        // Players 2 and 3 have the same results against the same pre-period opponents.
        assert_eq!(bits(&[(id(2), p2)].into()), bits(&[(id(2), p3)].into()));

        // Counters accumulate over periods.
        let again = rate_period(&after, &[game(2, 1, Score::Win)], &params);
        let (q1, q2) = (again[&id(1)], again[&id(2)]);
        assert_eq!((q1.games, q1.wins, q1.losses), (3, 2, 1));
        assert_eq!((q2.games, q2.wins, q2.draws, q2.losses), (3, 1, 1, 1));
        assert!(q1.rating < p1.rating && q2.rating > p2.rating);
        // Player 3 did not play: same rating, larger deviation.
        assert_eq!(again[&id(3)].rating, p3.rating);
        assert!(again[&id(3)].deviation > p3.deviation);
    }

    #[test]
    fn a_draw_between_equals_moves_neither() {
        let params = Glicko2Params::default();
        let after = rate_period(&Ratings::new(), &[game(1, 2, Score::Draw)], &params);
        assert_eq!(after[&id(1)].rating, 1500.0);
        assert_eq!(after[&id(2)].rating, 1500.0);
        assert!(after[&id(1)].deviation < 350.0);
    }

    #[test]
    fn inactive_deviation_grows_and_is_capped() {
        let params = Glicko2Params::default();
        let mut ratings: Ratings = [(id(1), rating(1600.0, 50.0, 0.06))].into();
        let mut last = 50.0;
        for _ in 0..2000 {
            ratings = rate_period(&ratings, &[], &params);
            let r = ratings[&id(1)];
            assert_eq!(r.rating, 1600.0);
            assert_eq!(r.games, 0);
            assert!(r.deviation >= last && r.deviation <= 350.0);
            last = r.deviation;
        }
        assert_eq!(last, 350.0);
        // One period: φ' = √(φ² + σ²).
        let one = rate_period(&[(id(1), rating(1500.0, 50.0, 0.06))].into(), &[], &params);
        let phi = 50.0 / GLICKO2_SCALE;
        let expected = (phi * phi + 0.0036).sqrt() * GLICKO2_SCALE;
        assert_eq!(one[&id(1)].deviation, expected);
        // A new player's deviation does not exceed the maximum either.
        let new = rate_period(&Ratings::new(), &[game(1, 2, Score::Win)], &params);
        assert!(new[&id(1)].deviation < 350.0);
    }

    #[test]
    fn leaderboard_breaks_ties_deterministically() {
        let ratings: Ratings = [
            (id(5), rating(1500.0, 100.0, 0.06)),
            (id(1), rating(1500.0, 100.0, 0.06)),
            (id(3), rating(1500.0, 50.0, 0.06)),
            (id(4), rating(1700.0, 300.0, 0.06)),
            (id(2), rating(1400.0, 10.0, 0.06)),
        ]
        .into();
        let order: Vec<PlayerId> = leaderboard(&ratings).into_iter().map(|(i, _)| i).collect();
        assert_eq!(order, vec![id(4), id(3), id(1), id(5), id(2)]);
    }

    #[test]
    fn canonical_form_rounds_and_round_trips() {
        let r = PlayerRating {
            rating: 1_464.050_670_5,
            deviation: 151.516_524,
            volatility: 0.059_995_984_286,
            games: 3,
            wins: 1,
            draws: 0,
            losses: 2,
        };
        let c = r.canonical();
        assert_eq!(
            (c.rating_milli, c.deviation_milli, c.volatility_nano),
            (1_464_051, 151_517, 59_995_984)
        );
        assert_eq!(c.to_rating().canonical(), c);
        assert_eq!(r.quantized().quantized(), r.quantized());
        let bytes = c.to_bytes();
        assert_eq!(bytes[..8], 1_464_051i64.to_be_bytes());
        assert_eq!(bytes[48..], 2u64.to_be_bytes());
        let table: Ratings = [(id(7), r)].into();
        let encoded = canonical_bytes(&table);
        assert_eq!(encoded.len(), 8 + 32 + 56);
        assert_eq!(encoded[..8], 1u64.to_be_bytes());
        assert_eq!(encoded[8..40], [7; 32]);
        assert_eq!(canonical_bytes(&quantize(&table)), encoded);
        assert_eq!(
            PlayerRating {
                rating: 1499.5,
                ..r
            }
            .display_rating(),
            1500
        );
    }

    #[test]
    fn portable_exp_and_ln_are_within_an_ulp_of_the_platform() {
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).abs();
        let mut x = -740.0;
        while x < 709.0 {
            assert!(ulps(portable::exp(x), x.exp()) <= 1, "exp({x})");
            x += 0.0137;
        }
        for i in -2000..2000 {
            let x = f64::from(i) * 0.001;
            assert!(ulps(portable::exp(x), x.exp()) <= 1, "exp({x})");
        }
        let mut y = 1e-300;
        while y < 1e300 {
            assert!(ulps(portable::ln(y), y.ln()) <= 1, "ln({y})");
            y *= 1.0173;
        }
        for i in 1..4000 {
            let y = f64::from(i) * 0.001;
            assert!(ulps(portable::ln(y), y.ln()) <= 1, "ln({y})");
        }
        assert_eq!(portable::exp(0.0), 1.0);
        assert_eq!(portable::ln(1.0), 0.0);
        assert_eq!(portable::exp(-1000.0), 0.0);
        assert_eq!(portable::exp(1000.0), f64::INFINITY);
        assert_eq!(portable::ln(0.0), f64::NEG_INFINITY);
        assert!(portable::ln(-1.0).is_nan());
        assert!(portable::exp(f64::NAN).is_nan());
        let tiny = f64::from_bits(1); // the smallest subnormal
        assert!(ulps(portable::ln(tiny), tiny.ln()) <= 1);
        assert!(ulps(portable::exp(-745.0), (-745.0f64).exp()) <= 1);
    }

    #[test]
    fn extreme_mismatches_stay_finite() {
        let params = Glicko2Params::default();
        let before: Ratings = [
            (id(1), rating(1.0e6, 30.0, 0.06)),
            (id(2), rating(-1.0e6, 30.0, 0.06)),
        ]
        .into();
        let after = rate_period(&before, &[game(2, 1, Score::Win)], &params);
        for r in after.values() {
            assert!(r.rating.is_finite() && r.deviation.is_finite() && r.volatility.is_finite());
        }
        assert_eq!(after[&id(2)].wins, 1);
    }

    fn arb_rating() -> impl Strategy<Value = PlayerRating> {
        (0.0..3000.0f64, 20.0..350.0f64, 0.03..0.1f64)
            .prop_map(|(r, rd, sigma)| rating(r, rd, sigma))
    }

    fn arb_score() -> impl Strategy<Value = Score> {
        prop_oneof![Just(Score::Win), Just(Score::Draw), Just(Score::Loss)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// A period's ratings are bit-identical under any permutation of its games and any
        /// choice of which side of a game is `a`.
        #[test]
        fn rating_a_period_ignores_the_order_of_games(
            known in proptest::collection::btree_map(0u8..12, arb_rating(), 0..12),
            games in proptest::collection::vec((0u8..16, 0u8..16, arb_score(), any::<bool>()), 0..60)
                .prop_flat_map(|g| {
                    let shuffled = Just(g.clone()).prop_shuffle();
                    (Just(g), shuffled)
                }),
        ) {
            let params = Glicko2Params::default();
            let before: Ratings = known.into_iter().map(|(n, r)| (id(n), r)).collect();
            let (original, shuffled) = games;
            let as_given: Vec<GameResult> =
                original.iter().map(|&(a, b, s, _)| game(a, b, s)).collect();
            let permuted: Vec<GameResult> = shuffled
                .iter()
                .map(|&(a, b, s, flip)| if flip { game(b, a, s.flip()) } else { game(a, b, s) })
                .collect();
            let one = rate_period(&before, &as_given, &params);
            let two = rate_period(&before, &permuted, &params);
            prop_assert_eq!(bits(&one), bits(&two));
            for r in one.values() {
                prop_assert!(r.rating.is_finite() && r.deviation > 0.0 && r.deviation <= 350.0);
                prop_assert_eq!(r.games, r.wins + r.draws + r.losses);
            }
        }
    }
}
