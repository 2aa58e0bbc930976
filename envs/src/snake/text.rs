//! A plain-text picture of the board, for people and golden files.

use std::fmt;

use super::{Point, SnakeGame};

/// Head letters by player; bodies use the lowercase letter.
const HEADS: [char; 4] = ['A', 'B', 'C', 'D'];

impl fmt::Display for SnakeGame {
    /// Renders the board top row first: `.` empty, `*` food, `A`–`D` heads, `a`–`d` bodies.
    /// A header gives the turn; one line per snake gives its length, health, food eaten and
    /// fate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, h) = (self.params.width as i8, self.params.height as i8);
        writeln!(f, "turn {}", self.turn)?;
        for y in (0..h).rev() {
            let mut row = String::with_capacity(2 * w as usize);
            for x in 0..w {
                if x > 0 {
                    row.push(' ');
                }
                row.push(self.cell_char(Point::new(x, y)));
            }
            writeln!(f, "{row}")?;
        }
        for (i, s) in self.snakes.iter().enumerate() {
            let letter = HEADS.get(i).copied().unwrap_or('?');
            write!(
                f,
                "{letter}: length {} health {} eaten {}",
                s.len(),
                s.health,
                s.eaten
            )?;
            match &s.eliminated {
                None => writeln!(f)?,
                Some(e) => {
                    write!(f, " eliminated on turn {} ({:?}", e.turn, e.cause)?;
                    match e.by.and_then(|b| HEADS.get(usize::from(b))) {
                        Some(by) => writeln!(f, " by {by})")?,
                        None => writeln!(f, ")")?,
                    }
                }
            }
        }
        if let Some(outcome) = &self.outcome {
            writeln!(f, "result: {outcome}")?;
        }
        Ok(())
    }
}

impl SnakeGame {
    fn cell_char(&self, p: Point) -> char {
        for (i, s) in self.snakes.iter().enumerate().filter(|(_, s)| s.is_alive()) {
            if s.head() == p {
                return HEADS.get(i).copied().unwrap_or('?');
            }
        }
        for (i, s) in self.snakes.iter().enumerate().filter(|(_, s)| s.is_alive()) {
            if s.body.contains(&p) {
                return HEADS.get(i).map_or('?', |c| c.to_ascii_lowercase());
            }
        }
        if self.food.contains(&p) { '*' } else { '.' }
    }
}
