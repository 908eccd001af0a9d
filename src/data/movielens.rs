//! MovieLens in the ml-latest-small layout (`ratings.csv`: userId,movieId,rating,timestamp;
//! `movies.csv`: movieId,title,genres), users and movies re-indexed to contiguous ids.

use super::table::{Column, CsvOptions, read_csv};
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::path::Path;

pub struct MovieLens {
    /// Per rating: contiguous user id, contiguous movie id, rating.
    pub users: Vec<i64>,
    pub movies: Vec<i64>,
    pub ratings: Vec<f32>,
    /// Original ids by contiguous id (ascending).
    pub user_ids: Vec<i64>,
    pub movie_ids: Vec<i64>,
    /// Titles by contiguous movie id ("" when movies.csv lacks the movie).
    pub titles: Vec<String>,
}

fn take_i64(cols: &mut [(String, Column)], i: usize, what: &str) -> Result<Vec<i64>> {
    match std::mem::replace(&mut cols[i].1, Column::I64(Vec::new())) {
        Column::I64(v) => Ok(v),
        _ => bail!("movielens: {what} must hold integers"),
    }
}

/// Contiguous ids for `raw` in ascending order of the original ids.
fn reindex(raw: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let mut uniq = raw.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    let pos: HashMap<i64, i64> = uniq
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, i as i64))
        .collect();
    (raw.iter().map(|v| pos[v]).collect(), uniq)
}

pub fn read(dir: &Path) -> Result<MovieLens> {
    let ratings_path = dir.join("ratings.csv");
    let mut types = HashMap::new();
    types.insert("rating".to_string(), super::table::ColumnType::F32);
    let mut r = read_csv(
        &ratings_path,
        &CsvOptions {
            columns: Some(vec!["userId".into(), "movieId".into(), "rating".into()]),
            types,
            ..Default::default()
        },
    )?;
    let users_raw = take_i64(&mut r, 0, "ratings.csv userId")?;
    let movies_raw = take_i64(&mut r, 1, "ratings.csv movieId")?;
    let ratings = match std::mem::replace(&mut r[2].1, Column::F32(Vec::new())) {
        Column::F32(v) => v,
        _ => bail!("movielens: ratings.csv rating must hold numbers"),
    };
    let (users, user_ids) = reindex(&users_raw);
    let (movies, movie_ids) = reindex(&movies_raw);
    let mut titles = vec![String::new(); movie_ids.len()];
    let movies_path = dir.join("movies.csv");
    if movies_path.is_file() {
        let mut m = read_csv(
            &movies_path,
            &CsvOptions {
                columns: Some(vec!["movieId".into(), "title".into()]),
                ..Default::default()
            },
        )?;
        let ids = take_i64(&mut m, 0, "movies.csv movieId")?;
        if let Column::Text(ts) = std::mem::replace(&mut m[1].1, Column::I64(Vec::new())) {
            let pos: HashMap<i64, usize> =
                movie_ids.iter().enumerate().map(|(i, &v)| (v, i)).collect();
            for (id, t) in ids.into_iter().zip(ts) {
                if let Some(&p) = pos.get(&id) {
                    titles[p] = t;
                }
            }
        }
    }
    Ok(MovieLens {
        users,
        movies,
        ratings,
        user_ids,
        movie_ids,
        titles,
    })
}
