use polars::prelude::*;

fn main() {
    let df = df!("a" => [1i32, 2, 3], "b" => [4i32, 5, 6]).unwrap();
    println!("{}", df.lazy().select([col("a") + col("b")]).collect().unwrap());
}
