use nets_envs::snake::{SnakeGame, SnakeParams};
#[test]
fn all_params_start() {
    let mut fails = 0;
    for w in 5..=25u8 {
        for h in 5..=25u8 {
            for n in 1..=4u8 {
                for s in 0..20u8 {
                    let p = SnakeParams {
                        width: w,
                        height: h,
                        snakes: n,
                        ..SnakeParams::default()
                    };
                    if let Err(e) = SnakeGame::new(p, [s; 32]) {
                        fails += 1;
                        if fails < 10 {
                            eprintln!("{w}x{h} n{n}: {e}");
                        }
                    }
                }
            }
        }
    }
    eprintln!("fails {fails}");
}
